import { Migrator, type MigrationProvider } from 'kysely';
import type { LedgerEntryDraft, StoredCheckpoint } from '../../core/ledger/index.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import type { Ledger, LedgerAppender } from '../../ports/ledger.js';
import type { Checkpointer } from './checkpointer.js';
import { SqlFleetStore } from './fleet-store.js';
import type { EntryQuery } from '../../core/ledger/entry-query.js';
import type { LedgerEntry } from '../../core/ledger/entry.js';
import { entries, latestCheckpoint } from './ledger.js';
import { stateMigrations } from './migrations.js';
import type { StateDb } from './schema.js';
import { appendLocked, SqlLedger } from './sql-ledger.js';
import type { WriteGuard } from './writing.js';

export type { WriteGuard } from './writing.js';

export interface StateOptions {
  /** Run inside every write transaction, after the writer lock (writing.ts: fencing). */
  readonly guard?: WriteGuard;
}

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(stateMigrations) };

/**
 * Bring the database to today's schema (the same migrations on both engines). Safe to run
 * from two processes at once: Kysely's migrator locks (SQLite: a lock row in one
 * transaction; PostgreSQL: an advisory lock, and all pending steps in one transaction).
 * Returns the error, if any, for the engine's adapter to explain.
 */
export async function migrateState(db: StateDb): Promise<unknown> {
  const { error } = await new Migrator({ db, provider }).migrateToLatest();
  return error;
}

/**
 * The fleet store and the ledger in one database, so that an action and its ledger entry
 * commit together: what `ingot up` (SQLite) and `ingot server` (PostgreSQL) hold. The engine's
 * adapter opens the database and migrates it; everything after that is this shared code.
 */
export class SqlState implements LedgerAppender {
  readonly fleets: FleetStore;
  private readonly guard: WriteGuard | undefined;

  protected constructor(
    private readonly db: StateDb,
    options: StateOptions = {},
  ) {
    this.guard = options.guard;
    this.fleets = new SqlFleetStore(db, options.guard);
  }

  /** Events that no other write records (instances, admission, builds), in one transaction. */
  append(drafts: readonly LedgerEntryDraft[]): Promise<number[]> {
    return appendLocked(this.db, drafts, this.guard);
  }

  /** The ledger as its owner holds it, signing checkpoints with `checkpointer`'s key. */
  ledger(checkpointer: Checkpointer): Ledger {
    return new SqlLedger(this.db, checkpointer, this.guard);
  }

  /** The latest checkpoint stored, whichever key signed it (unverified). */
  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return latestCheckpoint(this.db);
  }

  /** Entries in seq order, filtered and bounded (ledger.ts entries): what the dashboard reads. */
  entries(query: EntryQuery): Promise<LedgerEntry[]> {
    return entries(this.db, query);
  }

  private closing: Promise<void> | null = null;

  /** Close the database; closing again waits for the first close. */
  close(): Promise<void> {
    this.closing ??= this.db.destroy();
    return this.closing;
  }
}
