import * as z from 'zod';
import { MAX_ENTRY_BYTES, describeIssues } from './entry.js';
import { LedgerError } from './errors.js';
import { HASH_SIZE } from './merkle.js';
import { MAX_NOTE_BYTES, decodeBase64 } from './note.js';

/**
 * The exported ledger, what an auditor verifies offline: JSON Lines, one object per line,
 * so an export of millions of entries can be written and read as a stream, cut with
 * `head`, and searched with `grep` or `jq`. In order:
 *
 *   {"type":"header","format":"ingot-ledger","version":1,"origin":O,"vkey":K,"size":N}
 *   {"type":"entry","body":"<canonical JSON of entry 0>"}          N lines, in seq order
 *   {"type":"node","level":L,"index":I,"hash":"<base64>"}          every stored subtree
 *   {"type":"checkpoint","size":S,"time":T,"note":"<signed note>"} every checkpoint
 *
 * An entry is carried as the exact text the log hashed, not as a re-encoded object: the
 * auditor checks the bytes the tree committed to. The header's `vkey` is informative only:
 * it was written by whoever produced the file, so a verifier must be given the log's key
 * separately.
 */
export interface StoredNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Uint8Array;
}

export interface StoredCheckpoint {
  readonly size: number;
  /** Milliseconds since the epoch when it was signed; not covered by the signature. */
  readonly time: number;
  /** The signed note (C2SP tlog-checkpoint body + signature lines). */
  readonly note: string;
}

export interface LedgerExport {
  readonly origin: string;
  readonly vkey: string;
  readonly size: number;
  readonly entries: readonly string[];
  readonly nodes: readonly StoredNode[];
  readonly checkpoints: readonly StoredCheckpoint[];
}

export const EXPORT_FORMAT = 'ingot-ledger';
export const EXPORT_VERSION = 1;
/** An entry's body JSON-escaped at worst doubles (\" and \\), plus the line's own keys. */
export const MAX_EXPORT_LINE_BYTES = 2 * MAX_NOTE_BYTES + 1024;
/** A broken export reports this many bad lines, not millions. */
const MAX_REPORTED = 20;

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const withinBytes = (max: number) =>
  z.string().refine((s) => Buffer.byteLength(s, 'utf8') <= max, `at most ${max} bytes`);

const line = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('header'),
    format: z.literal(EXPORT_FORMAT),
    version: z.literal(EXPORT_VERSION),
    origin: z.string().min(1).max(256),
    vkey: z.string().min(1).max(1024),
    size: count,
  }),
  z.strictObject({ type: z.literal('entry'), body: withinBytes(MAX_ENTRY_BYTES) }),
  z.strictObject({
    type: z.literal('node'),
    level: z.number().int().min(0).max(63),
    index: count,
    hash: z.string().transform((h, ctx) => {
      const bytes = decodeBase64(h);
      if (bytes === null || bytes.length !== HASH_SIZE) {
        ctx.addIssue({ code: 'custom', message: 'the base64 of 32 bytes' });
        return z.NEVER;
      }
      return bytes;
    }),
  }),
  z.strictObject({
    type: z.literal('checkpoint'),
    size: count,
    time: count,
    note: withinBytes(MAX_NOTE_BYTES),
  }),
]);

export function* exportLines(e: LedgerExport): Generator<string> {
  yield JSON.stringify({
    type: 'header',
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    origin: e.origin,
    vkey: e.vkey,
    size: e.size,
  });
  for (const body of e.entries) yield JSON.stringify({ type: 'entry', body });
  for (const n of e.nodes)
    yield JSON.stringify({
      type: 'node',
      level: n.level,
      index: n.index,
      hash: Buffer.from(n.hash).toString('base64'),
    });
  for (const c of e.checkpoints)
    yield JSON.stringify({ type: 'checkpoint', size: c.size, time: c.time, note: c.note });
}

export function formatLedgerExport(e: LedgerExport): string {
  let out = '';
  for (const l of exportLines(e)) out += `${l}\n`;
  return out;
}

/**
 * JSON Lines → a LedgerExport, every malformed line reported at once (up to 20) with its
 * line number. This checks the shape only; whether the content is true is verifyLedger's job.
 */
export function parseLedgerExport(text: string, file = 'ledger export'): LedgerExport {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const problems: string[] = [];
  const problem = (n: number, why: string) => {
    if (problems.length < MAX_REPORTED) problems.push(`${file}:${n + 1}: ${why}`);
  };
  let header: Extract<z.output<typeof line>, { type: 'header' }> | undefined;
  const entries: string[] = [];
  const nodes: StoredNode[] = [];
  const checkpoints: StoredCheckpoint[] = [];
  lines.forEach((raw, n) => {
    if (Buffer.byteLength(raw, 'utf8') > MAX_EXPORT_LINE_BYTES)
      return problem(n, `longer than ${MAX_EXPORT_LINE_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return problem(n, 'not JSON');
    }
    const parsed = line.safeParse(json);
    if (!parsed.success) return problem(n, describeIssues(parsed.error.issues));
    const l = parsed.data;
    if ((n === 0) !== (l.type === 'header'))
      return problem(n, n === 0 ? 'the first line must be the header' : 'a second header');
    switch (l.type) {
      case 'header':
        header = l;
        break;
      case 'entry':
        entries.push(l.body);
        break;
      case 'node':
        nodes.push({ level: l.level, index: l.index, hash: l.hash });
        break;
      case 'checkpoint':
        checkpoints.push({ size: l.size, time: l.time, note: l.note });
        break;
    }
  });
  if (lines.length === 0) problem(0, 'empty: expected a header line');
  if (problems.length > 0 || header === undefined)
    throw new LedgerError(
      'E_LEDGER_EXPORT',
      `${file} is not a ledger export:\n  ${problems.join('\n  ')}`,
      { details: { file, problems } },
    );
  return {
    origin: header.origin,
    vkey: header.vkey,
    size: header.size,
    entries,
    nodes,
    checkpoints,
  };
}
