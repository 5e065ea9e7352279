import { closeSync, openSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { IngotError } from '../../domain/errors.js';
import { systemFault } from '../shared/system-fault.js';
import type { StateTables } from '../sql/schema.js';
import { migrateState, SqlState, type StateOptions } from '../sql/state.js';

/**
 * `$INGOT_HOME/state.db` (WAL, synchronous=FULL): the fleet store and the ledger in one
 * database, so that an action and its ledger entry commit together. `ingot up`'s state; the
 * shared code is adapters/sql, this is the connection.
 */
export class SqliteState extends SqlState {
  /**
   * `check`: run SQLite's quick_check first (the server's start): a damaged page found now
   * is a refusal with E_STATE_CORRUPT, not a server that runs on while its checkpoints and
   * writes fail one by one. A full disk or a damaged file is E_DISK_FULL / E_STATE_CORRUPT.
   */
  static async open(
    path: string,
    options: StateOptions & { check?: boolean } = {},
  ): Promise<SqliteState> {
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
    const error = await migrateState(db);
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
    return new SqliteState(db, options);
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
