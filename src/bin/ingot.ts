#!/usr/bin/env node
import { main } from '../cli/main.js';
import { appFactory, version } from './app.js';

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
