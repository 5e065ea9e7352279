import { createHash } from 'node:crypto';

/** One change to the agent's record: an instance as it is now, or its removal. */
export type JournalRecord =
  | { readonly op: 'put'; readonly id: string; readonly instance: unknown }
  | { readonly op: 'del'; readonly id: string };

/**
 * A record as one line: a check value, a space, the record's JSON. The check (the first 16
 * hex digits of its sha256) tells a whole line from one a crash cut short or filled with
 * zeros: an interrupted append must never be read as a smaller, valid-looking record.
 */
export function encodeRecord(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${check(json)} ${json}\n`;
}

function check(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

export interface DecodedJournal {
  /** Every instance saved, as the last whole record left it, by id. */
  readonly instances: Map<string, unknown>;
  /** Whole records read. */
  readonly records: number;
  /**
   * Bytes after the last whole record: a torn tail (a crash during the last append), or
   * damage. Records after a bad one are not trusted, whatever they say.
   */
  readonly badBytes: number;
  /** Whole-looking records after the first bad one: damage, not a torn append. */
  readonly damaged: boolean;
}

/** Read a journal's text: every record up to the first one that is not whole. Pure. */
export function decodeJournal(text: string): DecodedJournal {
  const instances = new Map<string, unknown>();
  let at = 0;
  let records = 0;
  for (;;) {
    const end = text.indexOf('\n', at);
    if (end < 0) break;
    const record = decodeLine(text.slice(at, end));
    if (record === null) break;
    if (record.op === 'put') {
      // Re-inserted, so that the order is the order of the last changes.
      instances.delete(record.id);
      instances.set(record.id, record.instance);
    } else instances.delete(record.id);
    records++;
    at = end + 1;
  }
  const rest = text.slice(at);
  // A torn append leaves one partial line at the end; more than that is damage.
  const damaged = rest.split('\n').filter((l) => l.length > 0).length > 1;
  return { instances, records, badBytes: Buffer.byteLength(rest), damaged };
}

function decodeLine(line: string): JournalRecord | null {
  const space = line.indexOf(' ');
  if (space !== 16) return null;
  const json = line.slice(17);
  if (check(json) !== line.slice(0, 16)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const r = parsed as { op?: unknown; id?: unknown; instance?: unknown };
  if (typeof r.id !== 'string') return null;
  if (r.op === 'put' && typeof r.instance === 'object' && r.instance !== null)
    return { op: 'put', id: r.id, instance: r.instance };
  if (r.op === 'del') return { op: 'del', id: r.id };
  return null;
}
