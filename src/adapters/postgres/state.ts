import { Kysely, PostgresDialect, sql } from 'kysely';
import { IngotError } from '../../domain/errors.js';
import type { StateTables } from '../sql/schema.js';
import { migrateState, SqlState, type StateOptions } from '../sql/state.js';
import { redact, statePool, type PoolOptions } from './pool.js';

/**
 * The state in PostgreSQL (`postgres://…`): what grows when several servers share it (the
 * ledger, releases, rollout history, drift evidence). The same Kysely code and migrations as
 * SQLite (adapters/sql); here only the connection. Appends and fleet writes of every server
 * are serialised by one transaction-level advisory lock (sql/dialect.ts explains why).
 */
export class PostgresState extends SqlState {
  /**
   * Connect, and migrate to today's schema (two servers starting at once take turns: Kysely's
   * migrator holds an advisory lock). The role needs to own the tables it creates, or the
   * schema they go in; it needs no superuser.
   */
  static async open(url: string, options: StateOptions & PoolOptions = {}): Promise<PostgresState> {
    const db = new Kysely<StateTables>({
      dialect: new PostgresDialect({ pool: statePool(url, options) }),
    });
    try {
      await sql`select 1`.execute(db);
    } catch (err) {
      await db.destroy();
      throw unreachable(err, url);
    }
    const error = await migrateState(db);
    if (error) {
      await db.destroy();
      throw new IngotError(
        'E_STATE_MIGRATION',
        `cannot migrate the state in ${redact(url)}: ${error instanceof Error ? error.message : 'unknown error'}`,
        { cause: error },
      );
    }
    return new PostgresState(db, options);
  }
}

/** PostgreSQL's SQLSTATE (or Node's errno code) of a failed connection. */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function unreachable(err: unknown, url: string): IngotError {
  const code = codeOf(err);
  const what = err instanceof Error ? err.message : String(err);
  const hint =
    code === '28P01' || code === '28000'
      ? 'check the user and password in the URL'
      : code === '3D000'
        ? 'create the database first (`createdb`), or name one that exists'
        : 'check that PostgreSQL runs there and accepts connections from this host';
  return new IngotError(
    'E_STATE_UNREACHABLE',
    `cannot open the state in ${redact(url)}: ${what}; ${hint}`,
    { cause: err, details: { url: redact(url), ...(code && { code }) } },
  );
}
