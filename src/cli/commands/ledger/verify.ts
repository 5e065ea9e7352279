import type { Command } from 'commander';
import { parseLedgerExport, verifyLedger, type LedgerVerdict } from '../../../core/ledger/index.js';
import { json, outputOption } from '../../format.js';
import type { CliApp, OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { readBounded, withLedger, type LedgerReach } from './ledger-access.js';

interface VerifyOptions {
  export?: string;
  since?: string;
  vkey?: string;
  output: OutputFormat;
}

/** `ingot ledger verify` */
export function registerLedgerVerify(ledger: Command, run: Runner): void {
  ledger
    .command('verify')
    .summary('recompute the whole tree, check every node and signature; exit 1 if anything is off')
    .description(
      'Recompute the Merkle tree from the stored entries, compare every stored node with it,\n' +
        'check every checkpoint signature and root, and with --since check that the log still\n' +
        'extends a checkpoint you saved earlier (a rewritten history is caught even if every\n' +
        "hash was recomputed and re-signed). Reads $INGOT_HOME/state.db (a cluster's database with\n" +
        "INGOT_DATABASE), a server's export with --server URL, or --export FILE offline.",
    )
    .option('--export <file>', 'verify this export instead of the home')
    .option('--since <checkpoint-file>', 'a signed checkpoint saved earlier')
    .option('--vkey <file>', 'verifier key (default $INGOT_HOME/keys/ledger.vkey)')
    .addOption(outputOption())
    .action(async (options: VerifyOptions) => {
      await run(
        async (app, io, api) => {
          const verdict = await verifyLedgerOf(
            app,
            { api, io, vkey: options.vkey, checks: true },
            options,
          );
          const shown = {
            ...verdict,
            ...('root' in verdict && { root: Buffer.from(verdict.root).toString('base64') }),
          };
          if (options.output === 'json') io.out(json(shown));
          else if (verdict.ok)
            io.out(
              `ok: ${verdict.size} entries, root ${Buffer.from(verdict.root).toString('base64')}, ${verdict.checkpoints} checkpoint(s) verified${verdict.anchored < verdict.size ? `; entries from ${verdict.anchored} on are not under a checkpoint yet` : ''}\n`,
            );
          else
            io.err(
              `FAILED (${verdict.code})${verdict.seq !== undefined ? ` at entry ${verdict.seq}` : ''}${verdict.checkpoint !== undefined ? ` at checkpoint ${verdict.checkpoint}` : ''}: ${verdict.message}\n`,
            );
          return verdict.ok ? 0 : 1;
        },
        () => options.output,
      );
    });
}

/**
 * The verdict on the home's ledger, or on an export: with --export and --vkey the home's
 * ledger is not opened at all, so an auditor needs nothing but the two files.
 */
async function verifyLedgerOf(
  app: CliApp,
  reach: LedgerReach,
  options: VerifyOptions,
): Promise<LedgerVerdict> {
  const trusted =
    options.since === undefined ? undefined : readBounded(options.since, 'checkpoint');
  const from =
    options.export === undefined
      ? undefined
      : parseLedgerExport(readBounded(options.export, 'export'), options.export);
  if (from !== undefined && options.vkey !== undefined) {
    return verifyLedger(from, {
      vkey: readBounded(options.vkey, 'verifier key').trim(),
      ...(trusted !== undefined && { trusted }),
    });
  }
  return withLedger(app, reach, (l) =>
    l.verify({
      ...(trusted !== undefined && { trusted }),
      ...(from !== undefined && { from }),
    }),
  );
}
