import { spawn } from 'node:child_process';
import type { CliApp, Io } from '../../io.js';
import { SERVER_FLAGS } from './server-flags.js';
import { serveOptions, type UpOptions } from './up-options.js';

/** Whether this process already runs with the server's V8 settings. */
export function hasServerFlags(): boolean {
  return SERVER_FLAGS.every((f) => process.execArgv.includes(f));
}

/**
 * Run the server with its own V8 settings: the same command, re-executed, with Ctrl-C and
 * SIGTERM passed on to it; its exit code is this command's.
 */
export function reexecWithServerFlags(): Promise<number> {
  const child = spawn(process.execPath, [...SERVER_FLAGS, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

/** Serve in this process until stopped by a signal or `ingot down`. */
export async function serveHere(app: CliApp, options: UpOptions, io: Io): Promise<number> {
  // Handlers first: a signal during start-up must still end in a clean stop.
  let server: Awaited<ReturnType<typeof app.serve>> | null = null;
  let stopRequested = false;
  const onSignal = () => {
    stopRequested = true;
    if (server) void server.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  server = await app.serve(serveOptions(options));
  io.err(`Ingot is up at ${server.url} (Ctrl-C to stop; instances keep running)\n`);
  if (stopRequested) void server.stop();
  await server.stopped;
  return 0;
}
