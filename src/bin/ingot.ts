#!/usr/bin/env node
import { main } from '../cli/main.js';
import { appFactory, version } from './app.js';

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
// The process ends when the event loop drains, not by process.exit: pino's destinations
// (the server's log, opened asynchronously) flush on exit and throw if exit comes before
// they are open. The cost: a push or pull may wait up to 0.3 s after its work while V8
// finishes compiling undici's HTTP parser in the background.
process.exitCode = code;
