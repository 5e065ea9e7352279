import type { Command } from 'commander';
import { json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { parseTime, withLedger, type Ledger } from './ledger-access.js';

type Ran = Awaited<ReturnType<Ledger['whatRan']>>[number];

/** `ingot what-ran --at TIME` */
export function registerWhatRan(program: Command, run: Runner): void {
  program
    .command('what-ran')
    .summary('the instances that ran at a moment, from the ledger, with proofs')
    .description(
      'Replay the ledger up to --at: every instance running then, with its artifact digest, release,\n' +
        'what admission said of its provenance (builder, commit), drift or access recorded against it,\n' +
        'and inclusion proofs of the entries that say so against the latest signed checkpoint.',
    )
    .requiredOption('--at <time>', 'the moment: now, ISO 8601, or 90m / 2h / 3d ago')
    .option('--fleet <name>', 'only this fleet')
    .option('--vkey <file>', 'verifier key (default $INGOT_HOME/keys/ledger.vkey)')
    .addOption(outputOption())
    .action(
      async (options: { at: string; fleet?: string; vkey?: string; output: OutputFormat }) => {
        await run(
          async (app, io, api) => {
            const at = parseTime(options.at, '--at');
            const ran = await withLedger(app, { api, io, vkey: options.vkey, checks: true }, (l) =>
              l.whatRan(at, options.fleet),
            );
            if (options.output === 'json') {
              io.out(json(ran));
              return 0;
            }
            if (ran.length === 0) io.err(`nothing ran at ${new Date(at).toISOString()}\n`);
            for (const r of ran) io.out(ranText(r));
            return 0;
          },
          () => options.output,
        );
      },
    );
}

/** One instance that ran: what, from which release, built how, found what, proven how. */
function ranText(r: Ran): string {
  const prov = r.admission?.detail['provenance'] as
    | { builderId?: string; git?: { commit?: string } | null; finishedOn?: string | null }
    | undefined;
  return (
    `${r.instance}  fleet ${r.fleet ?? '-'}  artifact ${r.artifact ?? '-'}\n` +
    `  release ${r.release ?? '-'}; started ${new Date(r.started.time).toISOString()} (entry ${r.started.seq})\n` +
    (prov
      ? `  built by ${prov.builderId ?? '?'} from ${prov.git?.commit ? `commit ${prov.git.commit}` : 'no git commit'}${prov.finishedOn ? ` at ${prov.finishedOn}` : ''}${r.admission ? ` (admission, entry ${r.admission.seq})` : ''}\n`
      : '') +
    (r.findings.length > 0
      ? `  ${r.findings.map((f) => `${f.kind} (entry ${f.seq})`).join(', ')}\n`
      : '') +
    `  proofs: ${r.proofs.length === 0 ? 'none yet (no checkpoint covers these entries)' : r.proofs.map((p) => `entry ${p.entry.seq} ${p.verified ? 'verified' : 'NOT VERIFIED'} against checkpoint ${p.checkpoint.size}`).join('; ')}\n`
  );
}
