import { dialectOf } from './dialect.js';
import type { StateDb } from './schema.js';

/**
 * Run inside every write transaction, once it holds the writer lock and before it writes:
 * throw to refuse the write, and nothing of it lands. The seam for fencing (issue 18): a
 * server that leads with epoch E checks here, in the same transaction, that the epoch stored
 * in the database is still E; a new leader stores E+1 in a write transaction of its own,
 * which waits for the writer lock, so no write of the old leader can commit after it.
 */
export type WriteGuard = (tx: StateDb) => Promise<void>;

/**
 * A write transaction: the writer lock first (dialect.ts: SQLite's own write lock taken up
 * front, PostgreSQL's advisory lock), then the guard, then `fn`. What `fn` reads cannot
 * change before it commits, on either engine.
 */
export function writing<T>(
  db: StateDb,
  fn: (tx: StateDb) => Promise<T>,
  guard?: WriteGuard,
): Promise<T> {
  const dialect = dialectOf(db);
  return dialect.begin(db).execute(async (tx) => {
    await dialect.lockForWrite(tx);
    if (guard) await guard(tx);
    return fn(tx);
  });
}
