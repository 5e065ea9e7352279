import { readFileSync } from 'node:fs';
import { DAY_MS, parseDuration } from '../../../core/duration.js';
import { IngotError, UsageError } from '../../../domain/errors.js';
import { routes } from '../../../core/api/routes.js';
import { call, runningServer } from '../../client.js';
import type { CliApp, Io } from '../../io.js';
import { resolveTarget, type ApiSettings } from '../../target.js';

/** Files the ledger commands read (exports, checkpoints, keys) are bounded: never all memory. */
const MAX_FILE_BYTES = 4 * 1024 ** 3;

/** "now", "2026-11-27T10:00:00Z", "2026-11-27", or "90m"/"2h"/"3d" (or "90m ago") ago. */
export function parseTime(raw: string, flag: string): number {
  if (raw.trim().toLowerCase() === 'now') return Date.now();
  const age = raw.replace(/\s+ago\s*$/i, '');
  // A bare number is a year ("2026"), not seconds ago: only a duration with units is an age.
  const ago = /^\s*\d+\s*$/.test(age) ? null : parseDuration(age, { maxMs: 10_000 * 366 * DAY_MS });
  if (ago !== null) return Date.now() - ago;
  const t = Date.parse(raw);
  if (!Number.isFinite(t))
    throw new UsageError(
      `${flag} must be now, a time (ISO 8601) or a duration ago (90m, 2h, 1h30m), got ${raw}`,
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

/** Where a ledger command reads, and with which verifier key. */
export interface LedgerReach {
  readonly api: ApiSettings;
  readonly io: Io;
  /** --vkey, where the command takes it. */
  readonly vkey?: string | undefined;
  /** Whether the command checks signatures or proofs (and so must say whose key it used). */
  readonly checks: boolean;
}

/** A server's export may take long to read and send: minutes, not the API's usual 30 s. */
const EXPORT_TIMEOUT_MS = 10 * 60_000;

/**
 * The ledger, read-only, for the length of `fn`: the home's (or the cluster's database named
 * by INGOT_DATABASE), or, when the command names a server by URL, that server's export,
 * checked here: a client far from the database audits the log itself rather than taking a
 * server's word for it.
 */
export async function withLedger<T>(
  app: CliApp,
  reach: LedgerReach,
  fn: (l: Ledger) => Promise<T>,
): Promise<T> {
  const target = resolveTarget(reach.api);
  let ledger: Ledger;
  if (target.kind === 'url') {
    const text = await call(reach.api, routes.ledgerExport, { timeoutMs: EXPORT_TIMEOUT_MS });
    ledger = await app.exportedLedger(text, `the export of ${target.base}`, reach.vkey);
    if (reach.checks && reach.vkey === undefined)
      reach.io.err(
        `note: checked against the verifier key ${target.base} sent (${ledger.origin}); give --vkey FILE to check against a key you hold, and --since CHECKPOINT to know the log was not cut back\n`,
      );
  } else ledger = await app.ledger(reach.vkey);
  try {
    return await fn(ledger);
  } finally {
    await ledger.close();
  }
}
