import pg from 'pg';

/** PostgreSQL's type OID of bigint (int8): seqs, sizes and milliseconds since the epoch. */
const INT8 = 20;

/**
 * bigint as a number, as SQLite gives it. pg hands it over as a string by default (it may
 * exceed 2^53); every bigint of the state is a count or a time far below that, and one that
 * is not is an error here rather than a number silently rounded.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new RangeError(`a bigint of the state is beyond 2^53 (${text}): the database is damaged`);
  return n;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): ((value: string) => unknown) =>
    oid === INT8 && format !== 'binary'
      ? parseInt8
      : (pg.types.getTypeParser(oid, format) as (
          value: string,
        ) => unknown)) as typeof pg.types.getTypeParser,
};

export interface PoolOptions {
  /** Connections at most (default 10). */
  readonly poolSize?: number;
  /**
   * An idle connection failed (the server restarted, the network dropped it). The pool drops
   * it and opens another on the next query; this only hears about it. Without a listener,
   * such an error would end the process.
   */
  readonly onIdleError?: (err: Error) => void;
}

/**
 * A pool for the state. Per connection: bigints as numbers; and a transaction left idle (a
 * frozen or partitioned server holding the writer lock) is ended by PostgreSQL after a
 * minute, releasing the lock for the others, rather than blocking every writer for good.
 */
export function statePool(url: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    application_name: 'ingot',
    connectionTimeoutMillis: 10_000,
    idle_in_transaction_session_timeout: 60_000,
    types,
  });
  pool.on('error', (err) => options.onIdleError?.(err));
  return pool;
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the PostgreSQL URL given (not a valid URL)';
  }
}
