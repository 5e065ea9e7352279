import { Kysely, PostgresDialect } from 'kysely';
import type { LedgerDb } from '../sql/ledger.js';
import { statePool } from './pool.js';

/**
 * A cluster's ledger on PostgreSQL, opened for an auditor: every session is read-only
 * (`default_transaction_read_only`), so log, prove, export, verify and what-ran can change
 * nothing, whatever the role may do.
 */
export function openPostgresLedgerReader(url: string): {
  db: LedgerDb;
  close: () => Promise<void>;
} {
  const pool = statePool(url, { poolSize: 2 });
  pool.on('connect', (client) => {
    void client.query('SET default_transaction_read_only = on');
  });
  const db: LedgerDb = new Kysely({ dialect: new PostgresDialect({ pool }) });
  return { db, close: () => db.destroy() };
}
