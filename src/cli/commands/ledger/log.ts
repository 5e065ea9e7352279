import { timeOnWire } from '../../../core/api/wire-time.js';
import type { Command } from 'commander';
import type { LedgerEntry } from '../../../core/ledger/index.js';
import { UsageError } from '../../../domain/errors.js';
import { columns, json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { parseTime, withLedger, type Ledger } from './ledger-access.js';

interface LogOptions {
  fleet?: string;
  instance?: string;
  kind?: string;
  since?: string;
  limit: string;
  output: OutputFormat;
}

/** `ingot ledger log` */
export function registerLog(ledger: Command, run: Runner): void {
  ledger
    .command('log')
    .summary('list entries, oldest first')
    .option('--fleet <name>', 'only this fleet')
    .option('--instance <id>', 'only this instance')
    .option('--kind <kind>', 'only this kind (deploy, instance-started, drift, …)')
    .option('--since <time>', 'only from this time (ISO 8601, or 90m / 2h / 3d ago)')
    .option('--limit <n>', 'at most this many (default 1000)', '1000')
    .addOption(outputOption({ wide: true }))
    .action(async (options: LogOptions) => {
      await run(
        async (app, io, api) => {
          if (!/^\d{1,5}$/.test(options.limit) || Number(options.limit) < 1)
            throw new UsageError(`--limit must be 1 to 99999, got ${options.limit}`);
          const since =
            options.since === undefined ? undefined : parseTime(options.since, '--since');
          const found = await withLedger(app, { api, io, checks: false }, (l) =>
            select(l, options, since),
          );
          // The entries as data, their times RFC 3339 as every answer's (`ingot ledger export`
          // keeps the signed form, milliseconds and all).
          if (options.output === 'json')
            io.out(json(found.map((e) => ({ ...e, time: timeOnWire(e.time) }))));
          else io.out(logTable(found, options.output === 'wide'));
          return 0;
        },
        () => options.output,
      );
    });
}

/** The entries the options ask for, oldest first. */
async function select(
  l: Ledger,
  options: LogOptions,
  since: number | undefined,
): Promise<LedgerEntry[]> {
  if (since === undefined)
    return l.entries({
      ...(options.fleet !== undefined && { fleet: options.fleet }),
      ...(options.instance !== undefined && { instance: options.instance }),
      ...(options.kind !== undefined && { kind: options.kind }),
      limit: Number(options.limit),
    });
  // Times are not indexed: the whole log is read, then filtered.
  return (await l.all())
    .filter(
      (e) =>
        e.time >= since &&
        (options.fleet === undefined || e.fleet === options.fleet) &&
        (options.instance === undefined || e.instance === options.instance) &&
        (options.kind === undefined || e.kind === options.kind),
    )
    .slice(0, Number(options.limit));
}

/** One row per entry; wide: the digests it is about, and what it says untruncated. */
export function logTable(found: readonly LedgerEntry[], wide = false): string {
  return columns<LedgerEntry>(
    [
      { header: 'SEQ', cell: (e) => String(e.seq) },
      { header: 'TIME', cell: (e) => new Date(e.time).toISOString() },
      { header: 'ACTOR', cell: (e) => e.actor },
      { header: 'KIND', cell: (e) => e.kind },
      { header: 'FLEET', cell: (e) => e.fleet ?? '-' },
      { header: 'INSTANCE', cell: (e) => e.instance ?? '-' },
      {
        header: 'SUBJECTS',
        cell: (e) => (e.subjects.length > 0 ? e.subjects.join(',') : '-'),
        wide: true,
      },
      { header: 'WHAT', cell: (e) => (wide ? summary(e) : summary(e).slice(0, 120)) },
    ],
    found,
    wide,
  );
}

function summary(e: LedgerEntry): string {
  const s = e.detail['summary'];
  if (typeof s === 'string' && s !== '') return s;
  const rest = Object.entries(e.detail).filter(([k]) => k !== 'release' && k !== 'summary');
  return rest.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}
