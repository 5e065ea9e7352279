import { sql } from 'kysely';
import type { StateDb } from './schema.js';

/**
 * A write transaction that takes SQLite's write lock first: the CLI may append to the
 * ledger from another process, and a transaction that read first and wrote second would
 * fail at once (SQLITE_BUSY_SNAPSHOT) rather than wait if the other committed in between.
 * Its first statement writes (nothing), so the lock is taken, or waited for, up front; what
 * the transaction then reads cannot change before it commits.
 */
export function writing<T>(db: StateDb, fn: (tx: StateDb) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await sql`delete from history where 0`.execute(tx);
    return fn(tx);
  });
}
