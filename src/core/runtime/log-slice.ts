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
 * The answer to GET …/logs: from `from`, else from `since` (the first byte seen at or after
 * it, by the marks), else all of it; with the marks that cover it when asked. Pure.
 */
export function answerLog(
  id: string,
  log: Uint8Array,
  marks: readonly LogMark[],
  query: LogsQuery,
  now: number,
  max: number,
): InstanceLogs {
  const from =
    query.from !== undefined
      ? Number(query.from)
      : query.since !== undefined
        ? startSince(marks, Date.parse(query.since))
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
