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
process.exitCode = code;
