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
 * it, by the marks), else all of it; with the marks that cover it when asked. Pure.
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
  const slice = sliceLog(id, log, from, max);
  if (query.marks !== '1') return slice;
  return {
    ...slice,
    marks: marksFor(marks, slice.start, slice.size).map((m) => ({
      at: timeOnWire(m.at),
      offset: m.offset,
    })),
    at: timeOnWire(now),
  };
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
