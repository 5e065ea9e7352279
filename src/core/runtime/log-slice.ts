import type { InstanceLogs, LogsQuery } from '../api/instances.js';
import { timeOnWire } from '../api/wire-time.js';
import { marksFor, startSince, type LogMark } from './log-marks.js';

/**
 * The part of an instance's log (its rotated files joined, oldest first) an answer carries:
 * from the byte offset `from` (the size the previous answer gave), or the whole log; never
 * more than the last `max` bytes. A log shorter than `from` was rotated since: its text
 * starts over. Pure.
 */
export function sliceLog(
  id: string,
  log: Uint8Array,
  from: number | undefined,
  max: number,
): InstanceLogs {
  const size = log.length;
  const asked = from === undefined || from > size ? 0 : from;
  const start = Math.max(asked, size - max);
  return { id, text: Buffer.from(log.subarray(start)).toString('utf8'), start, size };
}

/**
 * The answer to GET …/logs: from `from`, else from `since` (the first line seen at or after
 * it, by the marks), else all of it; of that its last `tail` lines when asked; with the marks
 * that cover it when asked, each with the lines it covers (linesBefore). Pure.
 *
 * Marks past the end of `log` are ignored. The marks are read before the bytes, so in steady
 * state none points past them; one that does was read before a rotation the bytes were read
 * after (its offsets are of the log as it was). Trusted, it would stamp the wrong lines, and a
 * `since` start past the end would read as "rotated since" and give the whole log.
 */
export function answerLog(
  id: string,
  log: Uint8Array,
  allMarks: readonly LogMark[],
  query: LogsQuery,
  now: number,
  max: number,
): InstanceLogs {
  const marks = withinLog(allMarks, log.length);
  const from =
    query.from !== undefined
      ? Number(query.from)
      : query.since !== undefined
        ? lineStartFrom(log, startSince(marks, Date.parse(query.since)))
        : undefined;
  const slice = sliceLog(
    id,
    log,
    query.tail === undefined ? from : tailStart(log, from, Number(query.tail)),
    max,
  );
  if (query.marks !== '1') return slice;
  const covering = marksFor(marks, slice.start, slice.size);
  const lines = linesBefore(
    log,
    slice.start,
    covering.map((m) => m.offset),
  );
  return {
    ...slice,
    marks: covering.map((m, k) => ({ at: timeOnWire(m.at), offset: m.offset, lines: lines[k]! })),
    at: timeOnWire(now),
  };
}

/**
 * For each of `offsets` (in order), how many lines of the text from `start` to the log's end
 * begin before it: the text's first line begins at `start` (the whole line, or the rest of
 * one an earlier answer began), each other one after a newline byte. Counted here, on the
 * bytes, so that decoding cannot move a mark (stampLines counts the decoded text's lines).
 */
export function linesBefore(log: Uint8Array, start: number, offsets: readonly number[]): number[] {
  const counts: number[] = [];
  let lines = 0;
  let p = start;
  for (const offset of offsets) {
    const until = Math.min(offset, log.length);
    for (; p < until; p++) if (p === start || log[p - 1] === 0x0a) lines++;
    counts.push(lines);
  }
  return counts;
}

/**
 * Where the last `n` lines of the log from `from` (or all of it) begin, as `tail` counts
 * them: a last line without its newline is one. Cut on the bytes, so that the answer's
 * `start` is right whatever its text decodes to.
 */
export function tailStart(log: Uint8Array, from: number | undefined, n: number): number {
  const size = log.length;
  const base = from === undefined || from > size ? 0 : from;
  if (n === 0) return size;
  let at = log[size - 1] === 0x0a && size > base ? size - 1 : size;
  for (let found = 0; found < n; found++) {
    at = at <= base ? -1 : log.lastIndexOf(0x0a, at - 1);
    if (at < base) return base;
  }
  return at + 1;
}

/** The marks that point into a log of `size` bytes (marks go forward in offset). */
export function withinLog(marks: readonly LogMark[], size: number): LogMark[] {
  return marks.filter((m) => m.offset <= size);
}

/**
 * The first line start at or after `offset`. A mark's offset is wherever the log's length
 * happened to be, often mid-line or mid-character. `--since T` means the lines the agent saw
 * begin at or after T: a line is stamped by its first byte (stampLines), so a line begun
 * before the start was seen before T and is left out whole, not shown from its middle (which
 * could also cut a UTF-8 character). A newline byte never occurs inside a UTF-8 character, so
 * a line start is a character start. No line begins after `offset`: the log's end.
 */
export function lineStartFrom(log: Uint8Array, offset: number): number {
  if (offset <= 0) return 0;
  if (offset >= log.length) return log.length;
  if (log[offset - 1] === 0x0a) return offset;
  const nl = log.indexOf(0x0a, offset);
  return nl === -1 ? log.length : nl + 1;
}
