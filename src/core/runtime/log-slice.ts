import type { InstanceLogs } from '../api/instances.js';

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
