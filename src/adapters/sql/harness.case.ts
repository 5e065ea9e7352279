import { afterEach } from 'vitest';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import type { LedgerDb } from './ledger.js';
import type { SqlState, StateOptions } from './state.js';

/**
 * What the state's contract suite needs from an engine: fresh databases, the engine's own
 * way of opening one, and a raw handle for what the adapters never do (tampering, counting).
 * SQLite gives temp files; PostgreSQL a new database on a throwaway server.
 */
export interface StateHarness {
  /** As the suite names it: "SQLite", "PostgreSQL 15". */
  readonly engine: string;
  /**
   * Whether two handles in this process may write at once. PostgreSQL's pools may; two
   * better-sqlite3 connections may not: a synchronous one waiting for the lock would block
   * the event loop of the one holding it (one writer per process; the CLI is another).
   */
  readonly parallelWriters: boolean;
  /** A new, empty database: its location (a file path, a URL). */
  fresh(): Promise<string>;
  /** Open (and migrate) the state at `location`, as the engine's adapter does. */
  open(location: string, options?: StateOptions): Promise<SqlState>;
  /** A second, raw handle on the same database (its own connection or pool). */
  raw(location: string): Promise<Closable & { readonly db: LedgerDb }>;
  /** Drop the ledger's append-only triggers, as the owner of the database can. */
  dropAppendOnly(db: LedgerDb): Promise<void>;
}

export interface Closable {
  close(): Promise<void>;
}

/** A fresh database with the state open on it and a raw handle beside; closed after the test. */
export interface Opened {
  readonly location: string;
  readonly state: SqlState;
  readonly db: LedgerDb;
}

/** Opens per test, closed after each (even when the test fails). */
export function opener(h: StateHarness) {
  const open: Closable[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  const keep = <T extends Closable>(c: T): T => {
    open.push(c);
    return c;
  };
  return {
    keep,
    /** Another state on an existing location (a second server, or a restart). */
    state: async (location: string, options?: StateOptions) =>
      keep(await h.open(location, options)),
    fresh: async (options?: StateOptions): Promise<Opened> => {
      const location = await h.fresh();
      const state = keep(await h.open(location, options));
      const { db } = keep(await h.raw(location));
      return { location, state, db };
    },
  };
}

export const A = `sha256:${'a'.repeat(64)}`;
export const B = `sha256:${'b'.repeat(64)}`;

/** Entry i of a deterministic log: kinds, actors, subjects and fleets vary with i. */
export const draft = (i: number, over: Partial<LedgerEntryDraft> = {}): LedgerEntryDraft => ({
  time: 1_764_000_000_000 + i,
  actor: i % 2 ? 'controller' : 'user:alice',
  kind: ['deploy', 'instance-started', 'drift'][i % 3]!,
  subjects: i % 5 === 0 ? [A, B] : [A],
  fleet: i % 4 === 0 ? 'api' : 'web',
  detail: { i },
  ...over,
});

export const drafts = (from: number, count: number): LedgerEntryDraft[] =>
  Array.from({ length: count }, (_, i) => draft(from + i));

/** The error code a promise rejects with (undefined if it resolves). */
export const codeOf = (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );
