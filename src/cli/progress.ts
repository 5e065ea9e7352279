import type { BuildProgress } from '../services/build/index.js';
import { formatBytes } from './format.js';
import type { Io } from './io.js';

/**
 * Build progress on stderr: one redrawn bar on a terminal, plain lines otherwise (CI logs
 * and pipes), at most one per phase or layer plus one per 25% of a large layer.
 */
export function progressRenderer(io: Io): { update: (e: BuildProgress) => void; done: () => void } {
  let lastDraw = 0;
  let barShown = false;
  let lastKey = '';
  let lastQuarter = -1;

  const clear = () => {
    if (barShown) io.err('\r\x1b[2K');
    barShown = false;
  };

  const update = (e: BuildProgress): void => {
    if (e.phase === 'plan' || e.phase === 'commit') {
      clear();
      io.err(`${e.message}\n`);
      return;
    }
    const label =
      e.phase === 'base'
        ? `base layer ${e.layer}/${e.layers}`
        : e.step === 'hash'
          ? `hashing ${e.source} (to find parts stored by earlier builds)`
          : `layer ${e.layer}/${e.layers} ${e.source}`;
    const fraction = e.total > 0 ? Math.min(1, e.done / e.total) : 1;
    if (io.errIsTty) {
      const now = Date.now();
      if (now - lastDraw < 80 && fraction < 1) return;
      lastDraw = now;
      const width = Math.max(10, Math.min(40, io.columns - label.length - 30));
      const filled = Math.round(fraction * width);
      io.err(
        `\r\x1b[2K${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}% ${formatBytes(e.done)}/${formatBytes(e.total)}`,
      );
      barShown = true;
      return;
    }
    const key = `${e.phase}${e.layer}${e.phase === 'layer' ? e.step : ''}`;
    const quarter = Math.floor(fraction * 4);
    if (key !== lastKey) {
      lastKey = key;
      lastQuarter = -1;
    }
    const big = e.total >= 64 * 1024 * 1024;
    if ((fraction === 1 && lastQuarter < 4) || (big && quarter > lastQuarter && quarter < 4)) {
      io.err(`${label}: ${Math.round(fraction * 100)}% of ${formatBytes(e.total)}\n`);
      lastQuarter = fraction === 1 ? 4 : quarter;
    }
  };
  return { update, done: clear };
}
