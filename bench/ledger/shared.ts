import { existsSync, rmSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { ledgerMigrations } from '../../src/adapters/sql/migrations.js';
import type { LedgerDb } from '../../src/adapters/sql/ledger.js';
import type { LedgerEntryDraft } from '../../src/core/ledger/index.js';

/**
 * What the measurements of bench/ledger share: the entries they write, the database opened as
 * the fleet store opens it, and the clock.
 */

/** Deterministic, realistic entries: the kinds, subjects and evidence a fleet produces. */
export function drafts(n: number, seed = 1): LedgerEntryDraft[] {
  let x = seed;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  const digest = () => `sha256:${next().toString(16).padStart(8, '0').repeat(8)}`;
  const kinds = ['instance-started', 'instance-healthy', 'instance-stopped', 'deploy', 'drift'];
  return Array.from({ length: n }, (_, i) => {
    const kind = kinds[next() % kinds.length]!;
    const fleet = `fleet-${next() % 20}`;
    return {
      time: 1_764_000_000_000 + i * 37,
      actor: kind === 'deploy' ? 'user:alice' : 'controller',
      kind,
      subjects: [digest(), ...(kind === 'deploy' ? [digest()] : [])],
      fleet,
      instance: `${fleet}-${(next() % 1e6).toString(36)}`,
      detail:
        kind === 'drift'
          ? { path: '/usr/bin/curl', expected: digest(), actual: digest() }
          : { host: `host-${next() % 8}`, release: digest() },
    };
  });
}

export function open(path: string, fresh: boolean) {
  if (fresh) for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  const db: LedgerDb = new Kysely({ dialect: new SqliteDialect({ database }) });
  return { database, db };
}

export async function migrate(db: LedgerDb) {
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(ledgerMigrations) },
  }).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error('migration failed');
}

/** Bytes on disk once the WAL is folded into the main file. */
export function fileBytes(database: SQLite.Database, path: string): number {
  database.pragma('wal_checkpoint(TRUNCATE)');
  return statSync(path).size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const us = (ms: number) => `${fmt(ms * 1000, 1)} µs`;

/** Wall-clock ms and this process's CPU µs (user + system) spent in `fn`. */
export async function measure(fn: () => unknown): Promise<{ ms: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { ms, cpu: used.user + used.system };
}

export async function timeEach(fn: (i: number) => unknown, n: number): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await fn(i);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return median(times);
}
