import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statePool } from '../src/adapters/postgres/pool.js';
import { PostgresState } from '../src/adapters/postgres/state.js';
import type { LedgerDb } from '../src/adapters/sql/ledger.js';
import { stateContract } from '../src/adapters/sql/state.case.js';
import { openState } from '../src/bin/open-state.js';
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

describe('opening the state in PostgreSQL', () => {
  const refusal = (url: string) =>
    openState(url).then(
      () => null,
      (e: { code?: string; message: string }) => e,
    );

  it('is what openState gives for a postgres:// URL', async () => {
    const url = await server.createDatabase();
    const state = await openState(url.replace(/^postgres:/, 'postgresql:'));
    try {
      expect(state).toBeInstanceOf(PostgresState);
      expect(await state.append([])).toEqual([]);
    } finally {
      await state.close();
    }
  });

  it('says what to check when the login is refused, and never repeats the password', async () => {
    const url = await server.createDatabase();
    const wrong = url.replace(encodeURIComponent(server.password), 'not-the-password');
    const e = await refusal(wrong);
    expect(e?.code).toBe('E_STATE_UNREACHABLE');
    expect(e?.message).toMatch(/password authentication failed.*check the user and password/);
    expect(e?.message).not.toContain('not-the-password');
    const missing = await refusal(server.url('no_such_database'));
    expect(missing?.code).toBe('E_STATE_UNREACHABLE');
    expect(missing?.message).toMatch(/does not exist.*create the database first/);
    expect(missing?.message).not.toContain(server.password);
  });
});
