/** The tail of an instance's log as the dashboard shows it: the last lines, bounded. */
export interface UiLogTail {
  readonly id: string;
  readonly lines: readonly string[];
  /** Earlier lines were left out. */
  readonly truncated: boolean;
}

export const TAIL_LINES = 100;
const MAX_LINE = 2000;
// A log is whatever the instance printed: terminal escapes and other control characters are
// shown as a mark, never passed on (an escape could restyle a terminal a line is copied to).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u0080-\u009f]/g;

/** The last `max` lines of `text` (a final partial line counts), each cut to length. Pure. */
export function logTail(id: string, text: string, max = TAIL_LINES): UiLogTail {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  const kept = all.slice(-max);
  return {
    id,
    lines: kept.map((l) => {
      const clean = l.replace(/\r$/, '').replace(CONTROL, '\uFFFD');
      return clean.length > MAX_LINE ? `${clean.slice(0, MAX_LINE)}…` : clean;
    }),
    truncated: all.length > kept.length,
  };
}
