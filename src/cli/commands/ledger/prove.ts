import type { Command } from 'commander';
import { UsageError } from '../../../domain/errors.js';
import { json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { withLedger, type Ledger } from './ledger-access.js';

/** `ingot ledger prove SEQ` */
export function registerProve(ledger: Command, run: Runner): void {
  ledger
    .command('prove')
    .summary('an entry with its inclusion proof against the latest signed checkpoint')
    .argument('<seq>', 'entry number')
    .option('--vkey <file>', 'verifier key (default $INGOT_HOME/keys/ledger.vkey)')
    .addOption(outputOption())
    .action(async (seq: string, options: { vkey?: string; output: OutputFormat }) => {
      await run(
        async (app, io, api) => {
          if (!/^\d{1,15}$/.test(seq))
            throw new UsageError(`SEQ must be an entry number, got ${seq}`);
          const proven = await withLedger(app, { api, io, vkey: options.vkey, checks: true }, (l) =>
            l.prove(Number(seq)),
          );
          if (options.output === 'json') io.out(json(proven));
          else io.out(proofText(proven));
          return proven.verified ? 0 : 1;
        },
        () => options.output,
      );
    });
}

function proofText(proven: Awaited<ReturnType<Ledger['prove']>>): string {
  return `${json(proven.entry)}\ninclusion proof (${proven.proof.length} hashes) against checkpoint ${proven.checkpoint.size}:\n${proven.proof.map((h) => `  ${h}\n`).join('')}\n${proven.checkpoint.note}\n${proven.verified ? 'verified: the signed checkpoint includes this entry' : 'NOT VERIFIED'}\n`;
}
