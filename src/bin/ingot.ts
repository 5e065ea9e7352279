#!/usr/bin/env node
import { main } from '../cli/main.js';
import { appFactory, ranServer, version } from './app.js';

// `ingot ledger log | head`: a reader that stops early is not an error of ours.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });

const code = await main(
  process.argv.slice(2),
  {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    errIsTty: process.stderr.isTTY,
    columns: process.stderr.columns || 80,
    env: process.env,
  },
  appFactory,
  version,
);
process.exitCode = code;
// A command is done when main returns: its output is written (stdout and stderr are
// synchronous for files, pipes and terminals on Linux) and what it opened is closed. Ending
// the process now spares tearing V8's heap down page by page and waiting for its background
// compiler: 50-100 ms after the output of a pull, more on a busy machine. Not after the
// server ran here: pino's log destinations flush on exit and throw if they are not open yet
// (a server refused at start), so that process ends when its event loop drains.
if (!ranServer()) process.exit(code);
