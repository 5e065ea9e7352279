/**
 * Time marks of an instance's log. Instances write straight into their log file (no process
 * of ours in between, by design: core of adapters/host-files/instance-log.ts), so no line
 * carries the time it was written. The agent, which watches every instance anyway, notes
 * now and then how long the log is: a mark (at, offset) says "by `at`, the log held `offset`
 * bytes". The bytes between two marks were seen in the interval between them, which is what
 * `ingot logs --timestamps` and `--since` can say of them: when the agent saw them, to
 * within its mark interval, not when the instance wrote them. Offsets are into the log as
 * it is read (its rotated part first, sliceLog), so they move when it is rotated (shifted).
 * Pure.
 */
export interface LogMark {
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** The log's length then, in bytes. */
  readonly offset: number;
}

/** A mark at most this often (the agent's resolution), and only when the log grew. */
export const MARK_EVERY_MS = 1000;
/** Marks kept per instance: over an hour of a log that never stops growing, at 1 a second. */
export const MAX_MARKS = 4096;

/** The mark to add now, if any: the log grew since the last, and the interval has passed. */
export function nextMark(last: LogMark | undefined, size: number, now: number): LogMark | null {
  if (last !== undefined && (size === last.offset || now - last.at < MARK_EVERY_MS)) return null;
  if (last === undefined && size === 0) return null;
  return { at: now, offset: size };
}

const LINE = /^(\d{1,15}) (\d{1,15})$/;

/**
 * The marks file, one "AT OFFSET" a line. A line cut short by a crash, or anything that is
 * not a mark, is skipped; marks must go forward in time and never back in offset, so a
 * damaged file cannot make a later line look earlier.
 */
export function parseMarks(text: string): LogMark[] {
  const marks: LogMark[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const mark = { at: Number(m[1]), offset: Number(m[2]) };
    const last = marks[marks.length - 1];
    if (last !== undefined && (mark.at <= last.at || mark.offset < last.offset)) continue;
    marks.push(mark);
  }
  return marks;
}

export function formatMarks(marks: readonly LogMark[]): string {
  return marks.map((m) => `${m.at} ${m.offset}\n`).join('');
}

/** The last MAX_MARKS (the oldest go first). */
export function bounded(marks: readonly LogMark[], max = MAX_MARKS): LogMark[] {
  return marks.slice(Math.max(0, marks.length - max));
}

/**
 * The marks after a rotation: the first `dropped` bytes of the log are gone (the old
 * rotated file), the next `kept` bytes are now its rotated part, and what came after them
 * was lost in the rotation (written between copy and truncation). Offsets move back by
 * `dropped`, within [0, kept]; of marks that land on the same offset the earliest stays (it
 * is the one that stamps the bytes before it; the later ones would stamp nothing).
 */
export function afterRotation(
  marks: readonly LogMark[],
  rotation: { readonly dropped: number; readonly kept: number },
): LogMark[] {
  const moved = marks.map((m) => ({
    at: m.at,
    offset: Math.min(rotation.kept, Math.max(0, m.offset - rotation.dropped)),
  }));
  return moved.filter((m, i) => i === 0 || moved[i - 1]!.offset !== m.offset);
}

/** When the byte at `offset` was seen: the first mark past it; else `now` (not marked yet). */
export function seenAt(marks: readonly LogMark[], offset: number, now: number): number {
  return firstAfter(marks, offset)?.at ?? now;
}

function firstAfter(marks: readonly LogMark[], offset: number): LogMark | undefined {
  // Marks go forward in offset: a binary search for the first one past it.
  let lo = 0;
  let hi = marks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (marks[mid]!.offset > offset) hi = mid;
    else lo = mid + 1;
  }
  return marks[lo];
}

/**
 * Where `--since` starts: at the first byte seen at or after `since` (seenAt ≥ since), so
 * that `--since T --timestamps` shows exactly the lines stamped T or later. The bytes a mark
 * covers begin where the mark before it ends; bytes past the last mark were seen by now.
 */
export function startSince(marks: readonly LogMark[], since: number): number {
  const k = marks.findIndex((m) => m.at >= since);
  if (k === -1) return marks[marks.length - 1]?.offset ?? 0;
  return k === 0 ? 0 : marks[k - 1]!.offset;
}

/** The marks an answer for bytes [start, end) needs to stamp them: through the first past end. */
export function marksFor(marks: readonly LogMark[], start: number, end: number): LogMark[] {
  const from = marks.findIndex((m) => m.offset > start);
  if (from === -1) return [];
  const to = marks.findIndex((m) => m.offset >= end);
  return marks.slice(from, to === -1 ? marks.length : to + 1);
}

/**
 * A mark as a log answer carries it: besides its byte offset, how many of the answer's lines
 * began before that offset (counted by the host on the log's own bytes, linesBefore). A line
 * is stamped by the first mark that covers it; counted in lines, a mark means the same
 * whatever decoding did to the bytes (an invalid one becomes U+FFFD, three bytes when encoded
 * again), since a newline byte decodes to a newline and nothing else does.
 */
export interface LineMark {
  readonly at: number;
  /** Lines of the answer's text begun before the mark (non-decreasing, as offsets are). */
  readonly lines: number;
}

/** When line `line` (0 for the text's first) was seen: the first mark covering more lines. */
export function lineSeenAt(marks: readonly LineMark[], line: number, now: number): number {
  let lo = 0;
  let hi = marks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (marks[mid]!.lines > line) hi = mid;
    else lo = mid + 1;
  }
  return marks[lo]?.at ?? now;
}

/**
 * The text of a log answer with each line prefixed by when it was seen (RFC 3339, UTC).
 * `firstLine`: the number of the text's first line among the answer's (lines left out before
 * it, by --tail). Only lines are counted, never bytes: the text is decoded.
 */
export function stampLines(
  text: string,
  marks: readonly LineMark[],
  now: number,
  options: {
    /** The text goes on a line begun before it (the previous answer ended mid-line): no stamp. */
    readonly midLine?: boolean;
    readonly firstLine?: number;
  } = {},
): string {
  const first = options.firstLine ?? 0;
  let out = '';
  let from = 0;
  for (let line = first; from < text.length; line++) {
    const nl = text.indexOf('\n', from);
    const end = nl === -1 ? text.length : nl + 1;
    const piece = text.slice(from, end);
    if (from === 0 && first === 0 && options.midLine === true) out += piece;
    else out += `${new Date(lineSeenAt(marks, line, now)).toISOString()} ${piece}`;
    from = end;
  }
  return out;
}
