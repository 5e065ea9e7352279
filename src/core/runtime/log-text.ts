import type { InstanceLogs } from '../api/instances.js';
import { stampLines, type LineMark } from './log-marks.js';
import { linesBefore } from './log-slice.js';

/**
 * A log answer as `ingot logs` prints it: its last `tail` lines, each stamped with when the
 * host's agent saw it when asked. Its text is decoded (a byte that is not UTF-8 is U+FFFD),
 * so nothing here counts its bytes: lines only, which decoding keeps (a newline byte decodes
 * to a newline, and nothing else does), and the marks say how many lines each covers. Pure.
 */
export function answerText(
  answer: InstanceLogs,
  view: { readonly tail?: number; readonly timestamps: boolean },
  /** The previous answer ended inside a line: this one's first piece is not stamped. */
  midLine: boolean,
  /** When the answer carries no time of its own (an older host). */
  now: number,
): string {
  // The host cut the tail already (a new one): taking it again changes nothing.
  const kept = view.tail === undefined ? answer.text : lastLines(answer.text, view.tail);
  if (!view.timestamps) return kept;
  const readAt = answer.at !== undefined ? Date.parse(answer.at) : now;
  return stampLines(kept, lineMarks(answer), readAt, {
    midLine,
    firstLine: lineCount(answer.text) - lineCount(kept),
  });
}

/**
 * The answer's marks as lines covered. A host that did not count them (older than `lines`):
 * counted on the text encoded again, which matches the log's bytes only where it is UTF-8.
 */
export function lineMarks(answer: InstanceLogs): LineMark[] {
  const marks = answer.marks ?? [];
  const counted = marks.every((m) => m.lines !== undefined)
    ? marks.map((m) => m.lines!)
    : linesBefore(
        Buffer.from(answer.text, 'utf8'),
        0,
        marks.map((m) => m.offset - answer.start),
      );
  return marks.map((m, k) => ({ at: Date.parse(m.at), lines: counted[k]! }));
}

/** Lines in `text`: a last one without its newline counts. */
export function lineCount(text: string): number {
  let n = 0;
  for (let p = text.indexOf('\n'); p !== -1; p = text.indexOf('\n', p + 1)) n++;
  return text === '' || text.endsWith('\n') ? n : n + 1;
}

/** The last `n` lines of `text` (a last line without its newline counts as one). */
export function lastLines(text: string, n: number): string {
  if (n === 0) return '';
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  let at = body.length;
  for (let found = 0; found < n; found++) {
    // lastIndexOf reads a negative start as 0: a break at 0 would be found twice.
    at = at === 0 ? -1 : body.lastIndexOf('\n', at - 1);
    if (at < 0) return text;
  }
  return text.slice(at + 1);
}
