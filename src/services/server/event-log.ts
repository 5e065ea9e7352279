import type { LedgerEntryDraft } from '../../core/ledger/index.js';

/** The log's view of one ledger event: the fields of its line, its level and its message. */
export interface EventLine {
  readonly level: 'info' | 'warn';
  readonly fields: Readonly<Record<string, unknown>>;
  readonly message: string;
}

/**
 * Detail fields a log line may carry. An allowlist, not a denylist: an event's detail is
 * evidence of any shape, and the log is read by more people than the ledger (shipped to a
 * log service, pasted into tickets). Nothing here can hold a fleet's environment or a token.
 */
const DETAIL_KEYS = [
  'summary',
  'where',
  'allowed',
  'reasons',
  'cause',
  'reason',
  'rollout',
  'strategy',
  'step',
  'release',
  'from',
  'to',
  'host',
  'exitCode',
  'failedInARow',
] as const;
const MAX_TEXT = 300;
const MAX_ITEMS = 4;

/** Events an operator should see even when skimming: something was refused, broke or went back. */
function isWarning(entry: LedgerEntryDraft): boolean {
  switch (entry.kind) {
    case 'admission':
      return entry.detail['allowed'] !== true;
    case 'drift':
    case 'taint':
    case 'rollback':
    case 'rollout-refused':
    case 'rollout-failed':
    case 'instance-crashed':
    case 'break-glass-open':
    case 'ledger-error':
      return true;
    default:
      return false;
  }
}

/** One line per event: its kind, fleet, instance, actor, subjects and a bounded detail. Pure. */
export function eventLine(entry: LedgerEntryDraft): EventLine {
  const detail: Record<string, unknown> = {};
  for (const key of DETAIL_KEYS) {
    const value = bounded(entry.detail[key]);
    if (value !== undefined) detail[key] = value;
  }
  return {
    level: isWarning(entry) ? 'warn' : 'info',
    fields: {
      event: entry.kind,
      ...(entry.fleet !== undefined && { fleet: entry.fleet }),
      ...(entry.instance !== undefined && { instance: entry.instance }),
      actor: entry.actor,
      ...(entry.subjects.length > 0 && { subjects: entry.subjects.slice(0, MAX_ITEMS) }),
      ...(Object.keys(detail).length > 0 && { detail }),
    },
    message: entry.fleet !== undefined ? `${entry.kind} ${entry.fleet}` : entry.kind,
  };
}

/** Scalars as they are (text cut short), a few of a list's scalars; nothing nested. */
function bounded(value: unknown): unknown {
  if (typeof value === 'string')
    return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    const items = value
      .slice(0, MAX_ITEMS)
      .map(bounded)
      .filter((v) => v !== undefined && !Array.isArray(v));
    return items.length > 0 ? items : undefined;
  }
  return undefined;
}

/** A sink that writes each event to a pino-like logger. */
export function eventLogger(log: {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}): (entry: LedgerEntryDraft) => void {
  return (entry) => {
    const line = eventLine(entry);
    log[line.level](line.fields, line.message);
  };
}
