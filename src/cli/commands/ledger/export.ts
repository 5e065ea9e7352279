import type { Command } from 'commander';
import { writeFileAtomic } from '../../../adapters/shared/atomic-file.js';
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
        async (app, io, api) => {
          const text = formatLedgerExport(
            await withLedger(app, { api, io, checks: false }, (l) => l.export()),
          );
          if (options.out === undefined) io.out(text);
          else {
            // Never half a file, even after a crash: an export is evidence.
            writeFileAtomic(options.out, text, { mode: 0o644 });
            io.err(`wrote ${options.out}\n`);
          }
          return 0;
        },
        () => 'text',
      );
    });
}
