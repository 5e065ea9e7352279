import type { Io } from './io.js';

/** One look at what is watched. */
export interface Frame {
  /** What to show. */
  readonly text: string;
  /**
   * What counts as a change (the text without its clocks): off a terminal a new block is
   * printed only when it changes, so a log of `--watch` reads as a list of events.
   */
  readonly key: string;
  /** Set when the watch is over (a rollout that finished): the command's exit code. */
  readonly exit?: number;
}

/** How often the API is asked: once a second, as `kubectl get -w` roughly redraws. */
export const WATCH_INTERVAL_MS = 1000;

/** Clear the screen and go home: a terminal redraws in place. */
const REDRAW = '\x1b[H\x1b[2J';

/**
 * Poll `look` every interval until it says the watch is over (or for ever: Ctrl-C ends it).
 * On a terminal the frame is redrawn whenever its text changes (clocks included); elsewhere
 * a block is appended only when its key changes, separated by a blank line.
 */
export async function watchFrames(
  io: Io,
  look: () => Promise<Frame>,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<number> {
  const tty = io.outIsTty === true;
  let shown: string | null = null;
  for (;;) {
    const frame = await look();
    const seen = tty ? frame.text : frame.key;
    if (seen !== shown) {
      io.out(tty ? REDRAW + frame.text : `${shown === null ? '' : '\n'}${frame.text}`);
      shown = seen;
    }
    if (frame.exit !== undefined) return frame.exit;
    await sleep(WATCH_INTERVAL_MS);
  }
}
