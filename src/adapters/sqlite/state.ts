import { closeSync, openSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type MigrationProvider } from 'kysely';
import type { LedgerEntryDraft, StoredCheckpoint } from '../../core/ledger/index.js';
import { IngotError } from '../../domain/errors.js';
import { systemFault } from '../shared/system-fault.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import type { Ledger, LedgerAppender } from '../../ports/ledger.js';
import type { Checkpointer } from '../sql/checkpointer.js';
import { latestCheckpoint } from '../sql/ledger.js';
import { SqliteFleetStore } from '../sql/fleet-store.js';
import { stateMigrations } from '../sql/migrations.js';
import type { StateDb, StateTables } from '../sql/schema.js';
import { appendLocked, SqliteLedger } from '../sql/sql-ledger.js';

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(stateMigrations) };

/**
 * `$INGOT_HOME/state.db` (WAL, synchronous=FULL): the fleet store and the ledger in one
 * database, so that an action and its ledger entry commit together.
 */
export class SqliteState implements LedgerAppender {
  readonly fleets: FleetStore;

  private constructor(private readonly db: StateDb) {
    this.fleets = new SqliteFleetStore(db);
  }

  /**
   * `check`: run SQLite's quick_check first (the server's start): a damaged page found now
   * is a refusal with E_STATE_CORRUPT, not a server that runs on while its checkpoints and
   * writes fail one by one. A full disk or a damaged file is E_DISK_FULL / E_STATE_CORRUPT.
   */
  static async open(path: string, options: { check?: boolean } = {}): Promise<SqliteState> {
    let database: SQLite.Database | null = null;
    try {
      // Made 0600 before SQLite sees it: SQLite creates it 0644, and gives its -wal and -shm
      // the database's mode. It holds every fleet's environment, passwords included.
      closeSync(openSync(path, 'a', 0o600));
      database = new SQLite(path);
      database.pragma('journal_mode = WAL');
      // An acknowledged deploy survives a crash or a power cut.
      database.pragma('synchronous = FULL');
      database.pragma('foreign_keys = ON');
      // Another process (the CLI recording a build) may hold the write lock for a moment.
      database.pragma('busy_timeout = 10000');
      if (options.check) quickCheck(database, path);
    } catch (err) {
      database?.close();
      throw systemFault(err, path) ?? err;
    }
    const db = new Kysely<StateTables>({ dialect: new SqliteDialect({ database }) });
    const { error } = await new Migrator({ db, provider }).migrateToLatest();
    if (error) {
      await db.destroy();
      throw (
        systemFault(error, path) ??
        new IngotError(
          'E_STATE_MIGRATION',
          `cannot migrate ${path}: ${error instanceof Error ? error.message : 'unknown error'}`,
        )
      );
    }
    return new SqliteState(db);
  }

  /** Events that no other write records (instances, admission, builds), in one transaction. */
  append(drafts: readonly LedgerEntryDraft[]): Promise<number[]> {
    return appendLocked(this.db, drafts);
  }

  /** The ledger as its owner holds it, signing checkpoints with `checkpointer`'s key. */
  ledger(checkpointer: Checkpointer): Ledger {
    return new SqliteLedger(this.db, checkpointer);
  }

  /** The latest checkpoint stored, whichever key signed it (unverified). */
  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return latestCheckpoint(this.db);
  }

  private closing: Promise<void> | null = null;

  /** Close the database; closing again waits for the first close. */
  close(): Promise<void> {
    this.closing ??= this.db.destroy();
    return this.closing;
  }
}

/** SQLite's quick_check (every page and its structure, without the index cross-checks). */
function quickCheck(database: SQLite.Database, path: string): void {
  let problems: string[];
  try {
    const rows = database.pragma('quick_check(10)') as { quick_check: string }[];
    problems = rows.map((r) => r.quick_check).filter((p) => p !== 'ok');
  } catch (err) {
    // A page too broken to walk: SQLite gives up on the check itself.
    if (systemFault(err)?.code !== 'E_STATE_CORRUPT') throw err;
    problems = [err instanceof Error ? err.message : String(err)];
  }
  if (problems.length > 0)
    throw new IngotError(
      'E_STATE_CORRUPT',
      `${path} is damaged (SQLite quick_check: ${problems.join('; ')}). Nothing was started. Keep a copy of the file for inspection, then restore it from a backup; or, to start with empty state, move it aside (its fleets and ledger history go with it). \`sqlite3 ${path} .recover\` may save what is left`,
      { details: { file: path, problems } },
    );
}
