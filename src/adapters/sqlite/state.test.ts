import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, sql, SqliteDialect } from 'kysely';
import { afterAll } from 'vitest';
import type { LedgerDb } from '../sql/ledger.js';
import { stateContract } from '../sql/state.case.js';
import { SqliteState } from './state.js';

const root = mkdtempSync(join(tmpdir(), 'ingot-state-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let made = 0;

stateContract({
  engine: 'SQLite',
  parallelWriters: false,
  fresh: () => Promise.resolve(join(root, `state-${++made}.db`)),
  open: (path, options) => SqliteState.open(path, options),
  raw: (path) => {
    const database = new SQLite(path);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    database.pragma('busy_timeout = 10000');
    const db: LedgerDb = new Kysely({ dialect: new SqliteDialect({ database }) });
    return Promise.resolve({ db, close: () => db.destroy() });
  },
  dropAppendOnly: async (db) => {
    for (const table of ['ledger_entries', 'ledger_nodes', 'ledger_checkpoints'])
      for (const op of ['update', 'delete'])
        await sql`drop trigger ${sql.raw(`${table}_no_${op}`)}`.execute(db);
  },
});
