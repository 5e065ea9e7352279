import type { CliApp, Io, OutputFormat } from '../io.js';
import type { ApiSettings } from '../target.js';

/**
 * Runs a command's body with the app, turning its outcome into an exit code. `api` says how
 * to reach the server (checked only when a call is made: offline commands never look).
 */
export type Runner = (
  fn: (app: CliApp, io: Io, api: ApiSettings) => Promise<number>,
  format: () => OutputFormat,
  /** `homeless`: the command never touches the home, so it runs where none can be found. */
  options?: { readonly homeless?: boolean },
) => Promise<void>;
