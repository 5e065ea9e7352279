import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  formatLedgerExport,
  parseLedgerExport,
  type LedgerEntry,
} from '../../core/ledger/index.js';
import { IngotError, UsageError } from '../../domain/errors.js';
import { DAY_MS, parseDuration } from '../../core/baseline/units.js';
import { api, serverInfo } from '../client.js';
import { json, outputOption, table } from '../format.js';
import type { CliApp, OutputFormat } from '../io.js';
import { isAlive } from '../../adapters/shared/process-alive.js';
import type { Runner } from './runner.js';

const MAX_FILE_BYTES = 4 * 1024 ** 3;

/** "2026-11-27T10:00:00Z", "2026-11-27", or "90m"/"2h"/"3d" ago. */
function parseTime(raw: string, flag: string): number {
  const ago = parseDuration(raw, 10_000 * 366 * DAY_MS);
  if (ago !== null) return Date.now() - ago;
  const t = Date.parse(raw);
  if (!Number.isFinite(t))
    throw new UsageError(
      `${flag} must be a time (ISO 8601) or a duration ago (90m, 2h), got ${raw}`,
    );
  return t;
}

function readBounded(path: string, what: string): string {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch {
    throw new IngotError('E_LEDGER_EXPORT', `${path}: cannot read the ${what}`);
  }
  if (text.length > MAX_FILE_BYTES) throw new IngotError('E_LEDGER_EXPORT', `${path}: too large`);
  return text.toString('utf8');
}

function summary(e: LedgerEntry): string {
  const s = e.detail['summary'];
  if (typeof s === 'string' && s !== '') return s;
  const rest = Object.entries(e.detail).filter(([k]) => k !== 'release' && k !== 'summary');
  return rest.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}

const running = (home: string) => {
  const info = serverInfo(home);
  return info !== null && isAlive(info.pid);
};

async function withLedger<T>(
  app: CliApp,
  vkey: string | undefined,
  fn: (l: Awaited<ReturnType<CliApp['ledger']>>) => Promise<T>,
): Promise<T> {
  const ledger = await app.ledger(vkey);
  try {
    return await fn(ledger);
  } finally {
    await ledger.close();
  }
}

export function registerLedger(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  const ledger = program
    .command('ledger')
    .summary('the tamper-evident record: what was built, admitted, run, changed, and by whom')
    .description(
      'Every build, admission, deploy, instance start and stop, replacement, drift, break-glass\n' +
        'session, key, policy and token change is an entry of a Merkle log (RFC 9162) in\n' +
        '$INGOT_HOME/state.db, written in the same transaction as the action it records. Signed\n' +
        'checkpoints (C2SP signed notes, Ed25519; verifier key $INGOT_HOME/keys/ledger.vkey) commit to\n' +
        'it. These commands read it directly and work whether or not Ingot runs.',
    );

  ledger
    .command('checkpoint')
    .summary('sign a checkpoint now (if Ingot runs) and print the latest')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      format = options.output;
      await run(
        async (app, io) => {
          const latest = running(app.home)
            ? await api<{ size: number; note: string; time: number } | null>(
                app.home,
                'POST',
                '/v1/ledger/checkpoint',
                {},
              )
            : await withLedger(app, undefined, (l) => l.latestCheckpoint());
          if (!latest) throw new IngotError('E_LEDGER_NONE', 'no checkpoint has been signed yet');
          if (format === 'json') io.out(json(latest));
          else io.out(latest.note);
          return 0;
        },
        () => format,
      );
    });

  ledger
    .command('log')
    .summary('list entries, oldest first')
    .option('--fleet <name>', 'only this fleet')
    .option('--instance <id>', 'only this instance')
    .option('--kind <kind>', 'only this kind (deploy, instance-started, drift, …)')
    .option('--since <time>', 'only from this time (ISO 8601, or 90m / 2h / 3d ago)')
    .option('--limit <n>', 'at most this many (default 1000)', '1000')
    .addOption(outputOption())
    .action(
      async (options: {
        fleet?: string;
        instance?: string;
        kind?: string;
        since?: string;
        limit: string;
        output: OutputFormat;
      }) => {
        format = options.output;
        await run(
          async (app, io) => {
            if (!/^\d{1,5}$/.test(options.limit) || Number(options.limit) < 1)
              throw new UsageError(`--limit must be 1 to 99999, got ${options.limit}`);
            const since =
              options.since === undefined ? undefined : parseTime(options.since, '--since');
            const found = await withLedger(app, undefined, async (l) =>
              since === undefined
                ? l.entries({
                    ...(options.fleet !== undefined && { fleet: options.fleet }),
                    ...(options.instance !== undefined && { instance: options.instance }),
                    ...(options.kind !== undefined && { kind: options.kind }),
                    limit: Number(options.limit),
                  })
                : // Times are not indexed: the whole log is read, then filtered.
                  (await l.all())
                    .filter(
                      (e) =>
                        e.time >= since &&
                        (options.fleet === undefined || e.fleet === options.fleet) &&
                        (options.instance === undefined || e.instance === options.instance) &&
                        (options.kind === undefined || e.kind === options.kind),
                    )
                    .slice(0, Number(options.limit)),
            );
            if (format === 'json') io.out(json(found));
            else
              io.out(
                table(
                  ['SEQ', 'TIME', 'ACTOR', 'KIND', 'FLEET', 'INSTANCE', 'WHAT'],
                  found.map((e) => [
                    String(e.seq),
                    new Date(e.time).toISOString(),
                    e.actor,
                    e.kind,
                    e.fleet ?? '-',
                    e.instance ?? '-',
                    summary(e).slice(0, 120),
                  ]),
                ),
              );
            return 0;
          },
          () => format,
        );
      },
    );

  ledger
    .command('prove')
    .summary('an entry with its inclusion proof against the latest signed checkpoint')
    .argument('<seq>', 'entry number')
    .option('--vkey <file>', 'verifier key (default $INGOT_HOME/keys/ledger.vkey)')
    .addOption(outputOption())
    .action(async (seq: string, options: { vkey?: string; output: OutputFormat }) => {
      format = options.output;
      await run(
        async (app, io) => {
          if (!/^\d{1,15}$/.test(seq))
            throw new UsageError(`SEQ must be an entry number, got ${seq}`);
          const proven = await withLedger(app, options.vkey, (l) => l.prove(Number(seq)));
          if (format === 'json') io.out(json(proven));
          else
            io.out(
              `${json(proven.entry)}\ninclusion proof (${proven.proof.length} hashes) against checkpoint ${proven.checkpoint.size}:\n${proven.proof.map((h) => `  ${h}\n`).join('')}\n${proven.checkpoint.note}\n${proven.verified ? 'verified: the signed checkpoint includes this entry' : 'NOT VERIFIED'}\n`,
            );
          return proven.verified ? 0 : 1;
        },
        () => format,
      );
    });

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
            // Never half a file: written aside, then renamed into place.
            const tmp = `${options.out}.tmp-${process.pid}`;
            // O_EXCL: never through a link someone planted at the temporary name.
            writeFileSync(tmp, text, { mode: 0o644, flag: 'wx' });
            renameSync(tmp, options.out);
            io.err(`wrote ${options.out}\n`);
          }
          return 0;
        },
        () => 'text',
      );
    });

  ledger
    .command('verify')
    .summary('recompute the whole tree, check every node and signature; exit 1 if anything is off')
    .description(
      'Recompute the Merkle tree from the stored entries, compare every stored node with it,\n' +
        'check every checkpoint signature and root, and with --since check that the log still\n' +
        'extends a checkpoint you saved earlier (a rewritten history is caught even if every\n' +
        'hash was recomputed and re-signed). Reads $INGOT_HOME/state.db, or --export FILE offline.',
    )
    .option('--export <file>', 'verify this export instead of the home')
    .option('--since <checkpoint-file>', 'a signed checkpoint saved earlier')
    .option('--vkey <file>', 'verifier key (default $INGOT_HOME/keys/ledger.vkey)')
    .addOption(outputOption())
    .action(
      async (options: { export?: string; since?: string; vkey?: string; output: OutputFormat }) => {
        format = options.output;
        await run(
          async (app, io) => {
            const trusted =
              options.since === undefined ? undefined : readBounded(options.since, 'checkpoint');
            const from =
              options.export === undefined
                ? undefined
                : parseLedgerExport(readBounded(options.export, 'export'), options.export);
            let verdict;
            if (from !== undefined && options.vkey !== undefined) {
              const { verifyLedger } = await import('../../core/ledger/index.js');
              verdict = verifyLedger(from, {
                vkey: readBounded(options.vkey, 'verifier key').trim(),
                ...(trusted !== undefined && { trusted }),
              });
            } else
              verdict = await withLedger(app, options.vkey, (l) =>
                l.verify({
                  ...(trusted !== undefined && { trusted }),
                  ...(from !== undefined && { from }),
                }),
              );
            const shown = {
              ...verdict,
              ...('root' in verdict && { root: Buffer.from(verdict.root).toString('base64') }),
            };
            if (format === 'json') io.out(json(shown));
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
          () => format,
        );
      },
    );

  program
    .command('what-ran')
    .summary('the instances that ran at a moment, from the ledger, with proofs')
    .description(
      'Replay the ledger up to --at: every instance running then, with its artifact digest, release,\n' +
        'what admission said of its provenance (builder, commit), drift or access recorded against it,\n' +
        'and inclusion proofs of the entries that say so against the latest signed checkpoint.',
    )
    .requiredOption('--at <time>', 'the moment (ISO 8601, or 90m / 2h / 3d ago)')
    .option('--fleet <name>', 'only this fleet')
    .addOption(outputOption())
    .action(async (options: { at: string; fleet?: string; output: OutputFormat }) => {
      format = options.output;
      await run(
        async (app, io) => {
          const at = parseTime(options.at, '--at');
          const ran = await withLedger(app, undefined, (l) => l.whatRan(at, options.fleet));
          if (format === 'json') {
            io.out(json(ran));
            return 0;
          }
          if (ran.length === 0) io.err(`nothing ran at ${new Date(at).toISOString()}\n`);
          for (const r of ran) {
            const prov = r.admission?.detail['provenance'] as
              | { builderId?: string; git?: { commit?: string } | null; finishedOn?: string | null }
              | undefined;
            io.out(
              `${r.instance}  fleet ${r.fleet ?? '-'}  artifact ${r.artifact ?? '-'}\n` +
                `  release ${r.release ?? '-'}; started ${new Date(r.started.time).toISOString()} (entry ${r.started.seq})\n` +
                (prov
                  ? `  built by ${prov.builderId ?? '?'} from ${prov.git?.commit ? `commit ${prov.git.commit}` : 'no git commit'}${prov.finishedOn ? ` at ${prov.finishedOn}` : ''}${r.admission ? ` (admission, entry ${r.admission.seq})` : ''}\n`
                  : '') +
                (r.findings.length > 0
                  ? `  ${r.findings.map((f) => `${f.kind} (entry ${f.seq})`).join(', ')}\n`
                  : '') +
                `  proofs: ${r.proofs.length === 0 ? 'none yet (no checkpoint covers these entries)' : r.proofs.map((p) => `entry ${p.entry.seq} ${p.verified ? 'verified' : 'NOT VERIFIED'} against checkpoint ${p.checkpoint.size}`).join('; ')}\n`,
            );
          }
          return 0;
        },
        () => format,
      );
    });
}
