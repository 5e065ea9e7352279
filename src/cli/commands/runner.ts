import type { CliApp, Io, OutputFormat } from '../io.js';

/** Runs a command's body with the app, turning its outcome into an exit code. */
export type Runner = (
  fn: (app: CliApp, io: Io) => Promise<number>,
  format: () => OutputFormat,
) => Promise<void>;
