import { IngotError, isIngotError } from '../../domain/errors.js';

/** errno and SQLite result codes that mean the disk (or the quota) is full. */
const FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
/** SQLite result codes that mean the database file is damaged, not merely busy. */
const CORRUPT = /^SQLITE_(CORRUPT|NOTADB)/;

/** A Node system error or a SqliteError: both carry a string `code`. */
function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/**
 * What the machine did to Ingot, told apart from Ingot's own bugs: a full disk or a damaged
 * state database, found anywhere in `err`'s chain of causes, as an error with its code and
 * the next step. `file`: the database, where the caller knows it. Null for anything else.
 */
export function systemFault(err: unknown, file?: string): IngotError | null {
  // Already told apart, with more said than can be said here (the file): kept as it is.
  if (isIngotError(err) && (err.code === 'E_DISK_FULL' || err.code === 'E_STATE_CORRUPT'))
    return err;
  let at: unknown = err;
  for (let depth = 0; depth < 8 && at !== undefined && at !== null; depth++) {
    const code = codeOf(at);
    if (code !== undefined && FULL.has(code)) return diskFull(at, err);
    if (code !== undefined && CORRUPT.test(code)) return stateCorrupt(at, err, file);
    at = at instanceof Error ? at.cause : undefined;
  }
  return null;
}

function diskFull(fault: unknown, err: unknown): IngotError {
  const path = (fault as { path?: unknown }).path;
  const where = typeof path === 'string' ? ` writing ${path}` : '';
  return new IngotError(
    'E_DISK_FULL',
    `the disk is full${where}. Free space on that filesystem (\`df -h\` shows which), then run the command again; Ingot replaces files only once they are written whole, so nothing half-written took an old file's place`,
    { cause: err, details: { ...(typeof path === 'string' && { path }), ...context(err) } },
  );
}

function stateCorrupt(fault: unknown, err: unknown, file?: string): IngotError {
  const db = file ?? "Ingot's state database ($INGOT_HOME/state.db)";
  const detail = fault instanceof Error ? fault.message : String(fault);
  return new IngotError(
    'E_STATE_CORRUPT',
    `${db} is damaged (SQLite: ${detail}). Stop Ingot and keep a copy of the file for inspection. Then restore it from a backup; or, to start with empty state, move it aside (its fleets and ledger history go with it). \`sqlite3 ${file ?? 'state.db'} .recover\` may save what is left`,
    { cause: err, details: { ...(file !== undefined && { file }), ...context(err) } },
  );
}

/** The code and message of the error that was wrapped, for `-o json` readers. */
function context(err: unknown): Record<string, unknown> {
  return isIngotError(err) ? { during: { code: err.code, message: err.message } } : {};
}
