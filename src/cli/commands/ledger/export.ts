import { renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatLedgerExport } from '../../../core/ledger/index.js';
import type { Runner } from '../runner.js';
import { withLedger } from './ledger-access.js';

/** `ingot ledger export` */
export function registerExport(ledger: Command, run: Runner): void {
  ledger
    .command('export')
    .summary('write the whole ledger (entries, nodes, checkpoints) for an offline audit')
    .option('--out <file>', 'write here (default stdout)')
    .action(async (options: { out?: string }) => {
      await run(
        async (app, io) => {
          const text = formatLedgerExport(await withLedger(app, undefined, (l) => l.export()));
          if (options.out === undefined) io.out(text);
          else {
            writeWhole(options.out, text);
            io.err(`wrote ${options.out}\n`);
          }
          return 0;
        },
        () => 'text',
      );
    });
}

/**
 * Never half a file: written aside, then renamed into place. (The adapters' writeFileAtomic
 * does the same with fsyncs, but the CLI does not reach into adapters: only bin/ wires them.)
 */
function writeWhole(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  // O_EXCL: never through a link someone planted at the temporary name.
  writeFileSync(tmp, text, { mode: 0o644, flag: 'wx' });
  renameSync(tmp, path);
}
