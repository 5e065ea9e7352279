import type { LedgerEntry } from './entry.js';

/** Which entries to read: the same question to a database or to an export. */
export interface EntryQuery {
  /** First seq, inclusive. */
  readonly from?: number;
  /** Last seq, exclusive. */
  readonly to?: number;
  readonly kind?: string;
  readonly actor?: string;
  readonly fleet?: string;
  readonly instance?: string;
  /** Entries naming this digest among their subjects. */
  readonly subject?: string;
  /** At most this many (default 1,000, at most 10,000). */
  readonly limit?: number;
  readonly order?: 'asc' | 'desc';
}

export const DEFAULT_ENTRY_LIMIT = 1000;
export const MAX_ENTRY_LIMIT = 10_000;

/** The limit a query asks for, within bounds: a query never reads the whole log by accident. */
export function entryLimit(query: EntryQuery): number {
  return Math.min(Math.max(1, Math.floor(query.limit ?? DEFAULT_ENTRY_LIMIT)), MAX_ENTRY_LIMIT);
}

/** Whether `e` answers `query`'s filters (not its order or limit). */
export function matchesQuery(e: LedgerEntry, query: EntryQuery): boolean {
  return (
    (query.from === undefined || e.seq >= query.from) &&
    (query.to === undefined || e.seq < query.to) &&
    (query.kind === undefined || e.kind === query.kind) &&
    (query.actor === undefined || e.actor === query.actor) &&
    (query.fleet === undefined || e.fleet === query.fleet) &&
    (query.instance === undefined || e.instance === query.instance) &&
    (query.subject === undefined || e.subjects.includes(query.subject))
  );
}
