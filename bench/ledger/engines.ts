import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PostgresState } from '../../src/adapters/postgres/state.js';
import type { SqlState } from '../../src/adapters/sql/state.js';
import { SqliteState } from '../../src/adapters/sqlite/state.js';
import type { LedgerEntryDraft } from '../../src/core/ledger/index.js';
import { startPostgres } from '../../test/helpers/postgres.js';
import { drafts, fmt, measure, median } from './shared.js';

/**
 * bench/ledger/engines: the same ledger appends through the state (`append`: one write
 * transaction each, the writer lock first) into SQLite (WAL, synchronous=FULL, as `ingot up`
 * opens it) and into PostgreSQL 15 (a local server with its defaults: fsync on, synchronous
 * commit), side by side in one run; and on PostgreSQL, two servers' pools appending at once.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, 'bench', '.work', 'ledger-engines');
const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 3));
const N = Number(process.env['BENCH_ENTRIES'] ?? 10_000);
const SINGLES = Math.min(N, 1000);

interface Case {
  readonly name: string;
  /** Entries per run. */
  readonly entries: number;
  run(states: SqlState[], input: readonly LedgerEntryDraft[]): Promise<void>;
}

async function inBatches(state: SqlState, input: readonly LedgerEntryDraft[], size: number) {
  for (let i = 0; i < input.length; i += size) await state.append(input.slice(i, i + size));
}

const CASES: Case[] = [
  { name: `${fmt(N)} in batches of 1,000`, entries: N, run: ([s], d) => inBatches(s!, d, 1000) },
  { name: `${fmt(N)} in batches of 100`, entries: N, run: ([s], d) => inBatches(s!, d, 100) },
  {
    name: `${fmt(SINGLES)}, one per transaction`,
    entries: SINGLES,
    run: ([s], d) => inBatches(s!, d.slice(0, SINGLES), 1),
  },
  {
    name: `${fmt(N)} in batches of 100, two writers at once`,
    entries: N,
    run: async ([a, b], d) => {
      const half = Math.floor(d.length / 2);
      await Promise.all([inBatches(a!, d.slice(0, half), 100), inBatches(b!, d.slice(half), 100)]);
    },
  },
];

interface Engine {
  readonly name: string;
  /** Whether two states of this process may write at once (not two SQLite connections). */
  readonly parallel: boolean;
  /** A fresh, empty state, and a second handle on it where `parallel`. */
  open(run: string): Promise<SqlState[]>;
}

async function main(): Promise<void> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const server = await startPostgres();
  try {
    const engines: Engine[] = [
      {
        name: 'SQLite',
        parallel: false,
        open: async (run) => [await SqliteState.open(join(WORK, `${run}.db`))],
      },
      {
        name: 'PostgreSQL 15',
        parallel: true,
        open: async () => {
          const url = await server.createDatabase();
          return [await PostgresState.open(url), await PostgresState.open(url)];
        },
      },
    ];
    const input = drafts(N);
    console.log(
      `ledger appends through the state, median of ${RUNS} run(s); entries/s (ms per run)`,
    );
    console.log(
      `${'case'.padEnd(48)} ${engines.map((e) => e.name.padStart(22)).join(' ')}  PG/SQLite`,
    );
    for (const [c, kase] of CASES.entries()) {
      const rates: (number | null)[] = [];
      const cells: string[] = [];
      for (const engine of engines) {
        if (kase.name.includes('two writers') && !engine.parallel) {
          rates.push(null);
          cells.push('n/a (one writer)'.padStart(22));
          continue;
        }
        const times: number[] = [];
        for (let run = 0; run < RUNS; run++) {
          const states = await engine.open(`c${c}-r${run}`);
          try {
            times.push((await measure(() => kase.run(states, input))).ms);
          } finally {
            await Promise.all(states.map((s) => s.close()));
          }
        }
        const ms = median(times);
        const rate = (kase.entries / ms) * 1000;
        rates.push(rate);
        cells.push(`${fmt(rate)}/s (${fmt(ms)} ms)`.padStart(22));
      }
      const [sqlite, pg] = rates;
      const ratio = sqlite && pg ? `${fmt(pg / sqlite, 2)}×` : '';
      console.log(`${kase.name.padEnd(48)} ${cells.join(' ')}  ${ratio}`);
    }
  } finally {
    await server.stop();
    rmSync(WORK, { recursive: true, force: true });
  }
}

await main();
