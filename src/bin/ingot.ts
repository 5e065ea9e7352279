#!/usr/bin/env node
import { versionLine } from '../cli/build-info.js';
import { buildInfo } from './build-info.js';

// `ingot ledger log | head`: a reader that stops early is not an error of ours.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });

const argv = process.argv.slice(2);
// `ingot --version` answers before the CLI and its dependencies are loaded (~100 ms of
// module compilation): scripts and shell prompts call it often.
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${versionLine(buildInfo)}\n`);
  await flushed(process.stdout);
  process.exit(0);
}
const [{ main }, { appFactory, ranServer }] = await Promise.all([
  import('../cli/main.js'),
  import('./app.js'),
]);

const code = await main(
  argv,
  {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    errIsTty: process.stderr.isTTY,
    outIsTty: process.stdout.isTTY === true,
    columns: process.stderr.columns || 80,
    env: process.env,
    ...(process.geteuid !== undefined && { uid: process.geteuid() }),
  },
  appFactory,
  buildInfo,
);
process.exitCode = code;
// A command is done when main returns, and what it opened is closed; its output may not be
// out yet: to a pipe, Node writes what the pipe takes at once and queues the rest in libuv
// (`ingot inspect --sbom | less`: megabytes, of which the pipe takes 64 KiB), and
// process.exit drops that queue. So wait for both streams to hand everything to the OS,
// then end the process: that spares tearing V8's heap down page by page and waiting for its
// background compiler, 50-100 ms after the output of a pull, more on a busy machine. Not
// after the server ran here: pino's log destinations flush on exit and throw if they are not
// open yet (a server refused at start), so that process ends when its event loop drains.
if (!ranServer()) {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/**
 * Resolves once everything written to `stream` before has been written out: writes complete
 * in order, so an empty write's callback comes after theirs. A reader that went away fails
 * it (EPIPE, handled above); it resolves then too.
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}
