import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, beforeAll } from 'vitest';
import { statePool } from '../src/adapters/postgres/pool.js';
import { PostgresState } from '../src/adapters/postgres/state.js';
import type { LedgerDb } from '../src/adapters/sql/ledger.js';
import { stateContract } from '../src/adapters/sql/state.case.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';

/**
 * The state's contract suite (src/adapters/sql/state.case.ts), the very one SQLite runs,
 * against a real PostgreSQL 15 started for this file: a new database for every test, two
 * servers' pools appending and writing fleets at once.
 */
let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(() => server?.stop());

stateContract({
  engine: 'PostgreSQL 15',
  parallelWriters: true,
  fresh: () => server.createDatabase(),
  open: (url, options) => PostgresState.open(url, { poolSize: 4, ...options }),
  raw: (url) => {
    const db: LedgerDb = new Kysely({ dialect: new PostgresDialect({ pool: statePool(url) }) });
    return Promise.resolve({ db, close: () => db.destroy() });
  },
  dropAppendOnly: async (db) => {
    for (const table of ['ledger_entries', 'ledger_nodes', 'ledger_checkpoints'])
      for (const op of ['update', 'delete', 'truncate'])
        await sql`drop trigger ${sql.raw(`${table}_no_${op}`)} on ${sql.table(table)}`.execute(db);
  },
});
