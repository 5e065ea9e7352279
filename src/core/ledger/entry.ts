import * as z from 'zod';
import { canonicalJson } from '../canonical-json.js';
import { LedgerError } from './errors.js';

/**
 * One event of the ledger: who did what, when, to which artifacts. An entry's bytes are its
 * RFC 8785 canonical JSON, and those bytes are what the Merkle tree commits to, so equal
 * entries always have equal leaves and an entry has exactly one acceptable encoding.
 */
export interface LedgerEntry {
  /** 0-based leaf index. It is inside the hashed bytes, so an entry cannot be moved. */
  readonly seq: number;
  /** Milliseconds since the epoch, passed in by the caller (the core reads no clock). */
  readonly time: number;
  readonly actor: string;
  /** One of LEDGER_KINDS today; verifiers accept any well-formed kind so that old auditors can
   * still verify logs written by newer servers. */
  readonly kind: string;
  /** Digests the event is about (artifacts, releases, measurements): sorted, unique. */
  readonly subjects: readonly string[];
  /** Absent or undefined when the event concerns no fleet; undefined is not encoded. */
  readonly fleet?: string | undefined;
  readonly instance?: string | undefined;
  /** Evidence: what was expected, what was found, why. Any JSON object. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** An entry before the log gives it its place. */
export type LedgerEntryDraft = Omit<LedgerEntry, 'seq'>;

export const LEDGER_KINDS = [
  'build',
  'admission',
  /** A host pulled an artifact it lacked from a registry, by digest (the source in detail). */
  'artifact-pulled',
  'deploy',
  'instance-started',
  'instance-healthy',
  'instance-stopped',
  'instance-replaced',
  /** Instances of a release exited on their own (the 1st, 2nd, 4th … of a streak). */
  'instance-crashed',
  'drift',
  'taint',
  'rollback',
  'break-glass-open',
  'break-glass-close',
  'key',
  'policy',
  'token',
  /** A cluster's host was admitted, was lost (its lease ended), or came back. */
  'host',
] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/**
 * An entry is a record of one event, not a payload store: 64 KiB bounds what a verifier
 * must hold per entry, whoever wrote the export it reads.
 */
export const MAX_ENTRY_BYTES = 64 * 1024;
/** Deeper JSON than this is an attempt to exhaust the stack of a recursive reader. */
export const MAX_DETAIL_DEPTH = 32;
export const MAX_SUBJECTS = 1024;

/** The OCI digest grammar: `algorithm:encoded`. */
const SUBJECT = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{1,256}$/;
/** Printable text without control characters: names end up in terminals and logs. */
const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\x00-\x1f\x7f]*$/, 'must not contain control characters');

export const entrySchema = z.strictObject({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  // The largest time a JavaScript Date can hold.
  time: z.number().int().min(0).max(8.64e15),
  actor: printable(256),
  kind: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'lowercase letters, digits and "-"'),
  subjects: z
    .array(z.string().regex(SUBJECT, 'a digest such as sha256:<hex>'))
    .max(MAX_SUBJECTS)
    .refine(
      (s) => s.every((d, i) => i === 0 || s[i - 1]! < d),
      'must be sorted and without duplicates',
    ),
  fleet: printable(128).optional(),
  instance: printable(128).optional(),
  // A custom check, not z.record: one walk over the value, no copy of it.
  detail: z.custom<Readonly<Record<string, unknown>>>(
    (d) => isJsonObject(d, MAX_DETAIL_DEPTH),
    `must be a plain JSON object (no undefined, functions, class instances or non-finite numbers), at most ${MAX_DETAIL_DEPTH} levels deep`,
  ),
});

/** The bytes the tree commits to: UTF-8 of the canonical JSON. */
export function encodeEntry(entry: LedgerEntry): Buffer {
  return Buffer.from(canonicalJson(entry), 'utf8');
}

/**
 * A draft → the entry at `seq`, subjects sorted and deduplicated, checked against the same
 * schema and bound that decoding applies: the log must never accept what its own verifier
 * would then refuse. Returns the entry and its canonical text.
 */
export function makeEntry(
  seq: number,
  draft: LedgerEntryDraft,
): { entry: LedgerEntry; body: string } {
  // Built field by field, not spread: one object shape for every entry keeps the checks
  // below on V8's fast path (a spread here doubled the cost of validation).
  const candidate: LedgerEntry = {
    seq,
    time: draft.time,
    actor: draft.actor,
    kind: draft.kind,
    subjects: [...new Set(draft.subjects)].sort(),
    fleet: draft.fleet,
    instance: draft.instance,
    detail: draft.detail,
  };
  const parsed = entrySchema.safeParse(candidate);
  if (!parsed.success) throw entryError(seq, describeIssues(parsed.error.issues));
  const body = canonicalJson(candidate);
  if (Buffer.byteLength(body, 'utf8') > MAX_ENTRY_BYTES)
    throw entryError(seq, `its encoding is larger than ${MAX_ENTRY_BYTES} bytes`);
  return { entry: candidate, body };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decode an entry from bytes anyone could have written (an export, a tampered database):
 * bounded first, then strict UTF-8, JSON, the schema, and canonical form — a second encoding
 * of the same entry would be a second leaf for one event.
 */
export function decodeEntry(body: Uint8Array | string, where = 'entry'): LedgerEntry {
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (size > MAX_ENTRY_BYTES)
    throw new LedgerError(
      'E_LEDGER_ENTRY',
      `${where}: ${size} bytes, more than the ${MAX_ENTRY_BYTES} allowed`,
    );
  let text: string;
  let json: unknown;
  try {
    text = typeof body === 'string' ? body : utf8.decode(body);
    json = JSON.parse(text);
  } catch {
    throw new LedgerError('E_LEDGER_ENTRY', `${where}: not UTF-8 JSON`);
  }
  // Depth is checked before the schema and the canonical writer, which recurse. The entry
  // is one level above its detail.
  if (!isJsonObject(json, MAX_DETAIL_DEPTH + 1))
    throw new LedgerError(
      'E_LEDGER_ENTRY',
      `${where}: not a JSON object, or nested more than ${MAX_DETAIL_DEPTH} levels deep`,
    );
  const parsed = entrySchema.safeParse(json);
  if (!parsed.success)
    throw new LedgerError('E_LEDGER_ENTRY', `${where}: ${describeIssues(parsed.error.issues)}`);
  if (canonicalJson(json) !== text)
    throw new LedgerError('E_LEDGER_ENTRY', `${where}: not in canonical JSON (RFC 8785) form`);
  return json as LedgerEntry;
}

function entryError(seq: number, message: string): LedgerError {
  return new LedgerError('E_LEDGER_ENTRY', `ledger entry ${seq}: ${message}`, {
    details: { seq },
  });
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/**
 * Plain JSON: null, booleans, finite numbers, strings, arrays, and objects whose prototype
 * is Object's or null, with containers nested at most `maxDepth` deep. The recursion stops
 * at that depth, so a hostile document cannot overflow the stack here.
 */
function isJsonObject(value: unknown, maxDepth: number): boolean {
  return isPlainObject(value) && isJsonValue(value, maxDepth);
}

function isJsonValue(v: unknown, depthLeft: number): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (depthLeft === 0) return false;
  if (Array.isArray(v)) {
    // Indexed, not every(): a hole in a sparse array is not JSON either.
    for (let i = 0; i < v.length; i++) if (!isJsonValue(v[i], depthLeft - 1)) return false;
    return true;
  }
  return isPlainObject(v) && Object.values(v).every((item) => isJsonValue(item, depthLeft - 1));
}

/**
 * An own "__proto__" key is refused too: JSON.parse makes one, but copying it into another
 * object sets that object's prototype instead, so it cannot survive canonical encoding.
 */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(v, '__proto__');
}
