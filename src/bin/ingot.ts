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
// The command is over, its output written (stdout and stderr are synchronous on Linux for
// files, pipes and terminals). Exit now rather than when the event loop drains: V8 may still
// be compiling the registry client's HTTP parser (WebAssembly) in the background, which held
// every push and pull open for up to 0.3 s after its work was done.
process.exit(code);
