import type { SqlState, StateOptions } from '../adapters/sql/state.js';
import { UsageError } from '../domain/errors.js';

export type { SqlState as State } from '../adapters/sql/state.js';

/** A PostgreSQL connection URL, as libpq and pg accept it. */
const POSTGRES_URL = /^postgres(ql)?:\/\//i;
/** Any other `scheme://`: not a path either (a typo, or an engine Ingot does not speak). */
const OTHER_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Open the state where `location` says: a `postgres://` (or `postgresql://`) URL is
 * PostgreSQL, shared by several servers; anything else is a SQLite file (`ingot up`'s
 * `$INGOT_HOME/state.db`, the default). Each engine's adapter is loaded only when chosen, so
 * the single-host path never loads pg. `check` (SQLite's quick_check on open) applies to files.
 */
export async function openState(
  location: string,
  options: StateOptions & { check?: boolean } = {},
): Promise<SqlState> {
  if (POSTGRES_URL.test(location)) {
    const { PostgresState } = await import('../adapters/postgres/state.js');
    const { check: _, ...rest } = options;
    return PostgresState.open(location, rest);
  }
  if (OTHER_URL.test(location))
    throw new UsageError(
      `the state's database is a file path or a postgres:// URL, not ${location.replace(/\/\/[^@/]*@/, '//***@')}`,
    );
  const { SqliteState } = await import('../adapters/sqlite/state.js');
  return SqliteState.open(location, options);
}
