import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { instanceLogs, type LogsQuery } from '../api/instances.js';
import { seenAt, type LogMark } from './log-marks.js';
import { answerLog } from './log-slice.js';
import { answerText, lastLines, lineCount } from './log-text.js';

/**
 * Pieces of a log as an instance may write them: text, CR/LF variants, UTF-8 characters of
 * each length, and bytes that are not UTF-8 (invalid lead bytes, lone continuation bytes,
 * overlong forms, an encoded surrogate, sequences cut short: at the log's end too).
 */
const PIECES: readonly (readonly number[])[] = [
  [0x61],
  [0x62, 0x63],
  [0x0a],
  [0x0d],
  [0x0d, 0x0a],
  [0xc3, 0xa9], // é
  [0xe2, 0x82, 0xac], // €
  [0xf0, 0x9f, 0x98, 0x80], // 😀
  [0xff],
  [0xfe],
  [0xc0, 0xaf], // overlong '/'
  [0x80],
  [0xbf],
  [0xc3], // cut short
  [0xe2, 0x82], // cut short
  [0xf0, 0x9f, 0x98], // cut short
  [0xed, 0xa0, 0x80], // a surrogate, encoded
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
];

const logArb = fc
  .array(fc.constantFrom(...PIECES), { maxLength: 40 })
  .map((pieces) => Uint8Array.from(pieces.flat()));

const T0 = 1_700_000_000_000;

/** Marks as the agent keeps them: forward in time, never back in offset; some past the end. */
const marksArb = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.nat(12)), { maxLength: 20 })
  .map((steps) => {
    let at = T0;
    let offset = 0;
    return steps.map(([dt, grew]): LogMark => ({ at: (at += dt), offset: (offset += grew) }));
  });

const NOW = T0 + 200_000;

/** What a command asks, as `ingot logs` makes the query: a first read or a follow-up one. */
type Ask =
  | { readonly kind: 'all'; readonly tail?: number | undefined }
  | { readonly kind: 'since'; readonly since: number; readonly tail?: number | undefined }
  | { readonly kind: 'from'; readonly from: number; readonly midLine: boolean };

const askArb: fc.Arbitrary<Ask> = fc.oneof(
  fc.record({ kind: fc.constant('all' as const), tail: fc.option(fc.nat(8), { nil: undefined }) }),
  fc.record({
    kind: fc.constant('since' as const),
    since: fc.integer({ min: T0 - 2000, max: NOW }),
    tail: fc.option(fc.nat(8), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('from' as const), from: fc.nat(150), midLine: fc.boolean() }),
);

const iso = (ms: number) => new Date(ms).toISOString();
const decode = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** The pieces of log[start, end) that lines are: each ends after a newline byte, or at end. */
function rawLines(log: Uint8Array, start: number): { at: number; bytes: Uint8Array }[] {
  const lines: { at: number; bytes: Uint8Array }[] = [];
  for (let p = start; p < log.length;) {
    const nl = log.indexOf(0x0a, p);
    const end = nl === -1 ? log.length : nl + 1;
    lines.push({ at: p, bytes: log.subarray(p, end) });
    p = end;
  }
  return lines;
}

/**
 * The reference, straight on the raw bytes: where the answer starts and what is printed,
 * each line stamped by its first byte's offset in the log (seenAt), then decoded.
 */
function onRawBytes(log: Uint8Array, marks: readonly LogMark[], ask: Ask, max: number) {
  const within = marks.filter((m) => m.offset <= log.length);
  let start: number;
  if (ask.kind === 'from') start = ask.from > log.length ? 0 : ask.from;
  else if (ask.kind === 'since')
    start = rawLines(log, 0).find((l) => seenAt(within, l.at, NOW) >= ask.since)?.at ?? log.length;
  else start = 0;
  let lines = rawLines(log, start);
  if (ask.kind !== 'from' && ask.tail !== undefined)
    lines = ask.tail === 0 ? [] : lines.slice(Math.max(0, lines.length - ask.tail));
  start = Math.max(lines[0]?.at ?? log.length, log.length - max);
  const printed = rawLines(log, start)
    .map((l, k) =>
      k === 0 && ask.kind === 'from' && ask.midLine
        ? decode(l.bytes)
        : `${iso(seenAt(within, l.at, NOW))} ${decode(l.bytes)}`,
    )
    .join('');
  return { start, printed };
}

/** The query `ingot logs` sends for `ask` (cli/commands/logs.ts, firstQuery / nextQuery). */
function queryOf(ask: Ask): LogsQuery {
  if (ask.kind === 'from') return { from: String(ask.from), marks: '1' };
  return {
    ...(ask.kind === 'since' && { since: iso(ask.since) }),
    ...(ask.tail !== undefined && ask.kind === 'all' && { tail: String(ask.tail) }),
    marks: '1',
  };
}

/** Host, wire (JSON, parsed as a client parses it), CLI: what `--timestamps` prints. */
function throughTheWire(log: Uint8Array, marks: readonly LogMark[], ask: Ask, max: number) {
  const answer = answerLog('i', log, marks, queryOf(ask), NOW, max);
  const received = instanceLogs.parse(JSON.parse(JSON.stringify(answer)));
  const view = {
    timestamps: true,
    ...(ask.kind !== 'from' && ask.tail !== undefined && { tail: ask.tail }),
  };
  const midLine = ask.kind === 'from' && ask.midLine;
  return { answer: received, printed: answerText(received, view, midLine, 0) };
}

describe('stamps and --since on any bytes, through the host’s decoded answer', () => {
  it('are those computed on the raw bytes: every line, every cut', () => {
    fc.assert(
      fc.property(
        logArb,
        marksArb,
        askArb,
        fc.oneof(fc.constant(1 << 20), fc.nat(60)),
        (log, marks, ask, max) => {
          const raw = onRawBytes(log, marks, ask, max);
          const { answer, printed } = throughTheWire(log, marks, ask, max);
          // The tail cut by the host (not after --since: there the CLI cuts it, by lines).
          if (!(ask.kind === 'since' && ask.tail !== undefined))
            expect(answer.start).toBe(raw.start);
          expect(printed).toBe(raw.printed);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a line after bytes that are not UTF-8 keeps its own time (the bug this fixes)', () => {
    // "\xff\xfe\xc3\n" 0-3 (seen by 1 s), "late\n" 4-8 (by 2 s). Encoded again, the first line
    // is 10 bytes: counted on it, "late" would fall past the second mark and read as `now`.
    const log = Uint8Array.from([0xff, 0xfe, 0xc3, 0x0a, ...Buffer.from('late\n')]);
    const marks = [
      { at: T0 + 1000, offset: 4 },
      { at: T0 + 2000, offset: 9 },
    ];
    const { answer, printed } = throughTheWire(log, marks, { kind: 'all' }, 1 << 20);
    expect(answer.marks?.map((m) => m.lines)).toEqual([1, 2]);
    expect(printed).toBe(`${iso(T0 + 1000)} \ufffd\ufffd\ufffd\n${iso(T0 + 2000)} late\n`);
    const since = throughTheWire(log, marks, { kind: 'since', since: T0 + 1500 }, 1 << 20);
    expect(since.printed).toBe(`${iso(T0 + 2000)} late\n`);
    expect(since.answer.start).toBe(4);
  });

  it('an older host’s marks (no line counts) stamp a UTF-8 answer as before', () => {
    const utf8 = fc
      .array(fc.constantFrom('a', 'é', '€', '😀', '\n', '\r\n'), { maxLength: 40 })
      .map((s) => Uint8Array.from(Buffer.from(s.join(''))));
    fc.assert(
      fc.property(utf8, marksArb, askArb, (log, marks, ask) => {
        const { answer, printed } = throughTheWire(log, marks, ask, 1 << 20);
        // A slice of UTF-8 is UTF-8 only when cut at a character (`from` need not be).
        fc.pre(Buffer.from(answer.text).equals(log.subarray(answer.start)));
        const older = {
          ...answer,
          ...(answer.marks && { marks: answer.marks.map(({ lines: _l, ...m }) => m) }),
        };
        const view = {
          timestamps: true,
          ...(ask.kind !== 'from' && ask.tail !== undefined && { tail: ask.tail }),
        };
        expect(answerText(older, view, ask.kind === 'from' && ask.midLine, 0)).toBe(printed);
      }),
    );
  });

  it('counts lines as tail does', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '\n', '\r') }), fc.nat(6), (text, n) => {
        expect(lineCount(text)).toBe(text === '' ? 0 : text.replace(/\n$/, '').split('\n').length);
        expect(lineCount(lastLines(text, n))).toBe(Math.min(n, lineCount(text)));
      }),
    );
  });
});
