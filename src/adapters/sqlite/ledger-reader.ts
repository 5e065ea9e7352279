import { existsSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { IngotError } from '../../domain/errors.js';
import type { LedgerDb } from '../sql/ledger.js';

/**
 * The ledger of a home, opened read-only: an auditor's commands (log, prove, export,
 * verify, what-ran) work whether or not the server runs, and can change nothing.
 */
export function openLedgerReader(path: string): { db: LedgerDb; close: () => Promise<void> } {
  if (!existsSync(path))
    throw new IngotError('E_LEDGER_NONE', `no ledger at ${path}: has \`ingot up\` run here?`);
  const database = new SQLite(path, { readonly: true, fileMustExist: true });
  database.pragma('busy_timeout = 10000');
  const db: LedgerDb = new Kysely({ dialect: new SqliteDialect({ database }) });
  return { db, close: () => db.destroy() };
}
