import { readFileSync } from 'node:fs';
import { DAY_MS, parseDuration } from '../../../core/baseline/units.js';
import { IngotError, UsageError } from '../../../domain/errors.js';
import { runningServer } from '../../client.js';
import type { CliApp } from '../../io.js';
import { resolveTarget, type ApiSettings } from '../../target.js';

/** Files the ledger commands read (exports, checkpoints, keys) are bounded: never all memory. */
const MAX_FILE_BYTES = 4 * 1024 ** 3;

/** "2026-11-27T10:00:00Z", "2026-11-27", or "90m"/"2h"/"3d" ago. */
export function parseTime(raw: string, flag: string): number {
  const ago = parseDuration(raw, 10_000 * 366 * DAY_MS);
  if (ago !== null) return Date.now() - ago;
  const t = Date.parse(raw);
  if (!Number.isFinite(t))
    throw new UsageError(
      `${flag} must be a time (ISO 8601) or a duration ago (90m, 2h), got ${raw}`,
    );
  return t;
}

export function readBounded(path: string, what: string): string {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch {
    throw new IngotError('E_LEDGER_EXPORT', `${path}: cannot read the ${what}`);
  }
  if (text.length > MAX_FILE_BYTES) throw new IngotError('E_LEDGER_EXPORT', `${path}: too large`);
  return text.toString('utf8');
}

/**
 * Whether a server is to be asked (then it, not the CLI, signs checkpoints): one named by
 * --server or INGOT_SERVER, or this home's while it runs.
 */
export const running = (api: ApiSettings): boolean =>
  resolveTarget(api).kind === 'url' || runningServer(api.home) !== null;

export type Ledger = Awaited<ReturnType<CliApp['ledger']>>;

/** The home's ledger, read-only, for the length of `fn`. */
export async function withLedger<T>(
  app: CliApp,
  vkey: string | undefined,
  fn: (l: Ledger) => Promise<T>,
): Promise<T> {
  const ledger = await app.ledger(vkey);
  try {
    return await fn(ledger);
  } finally {
    await ledger.close();
  }
}
