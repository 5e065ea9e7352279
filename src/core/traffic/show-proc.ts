import { EdgeError, quoteForMessage } from './errors.js';

/** The master's view of its processes (`show proc` on the master CLI). */
export interface ProcessList {
  readonly master: number;
  /** Reloads asked of the master, and how many of them failed to load. */
  readonly reloads: number;
  readonly failedReloads: number;
  /** Workers serving the current configuration. */
  readonly workers: readonly number[];
  /** Workers of former configurations, finishing their requests. */
  readonly oldWorkers: readonly number[];
}

/**
 * Parse HAProxy 2.6's `show proc`. A reload is complete when a worker not seen before is
 * current; it failed when `failedReloads` grew (the old worker then simply stays current).
 */
export function parseShowProc(text: string): ProcessList {
  if (text.length > 64 * 1024) fail('the answer is over 64 KiB');
  let master: { pid: number; reloads: number; failed: number } | null = null;
  const workers: number[] = [];
  const oldWorkers: number[] = [];
  let section: 'head' | 'workers' | 'old' | 'other' = 'head';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#<PID>')) continue;
    if (line.startsWith('#')) {
      section = line === '# workers' ? 'workers' : line === '# old workers' ? 'old' : 'other';
      continue;
    }
    const m = /^(\d{1,10})\s+master\s+(\d{1,10})\s+\[failed:\s*(\d{1,10})\]/.exec(line);
    if (m !== null) {
      master = { pid: Number(m[1]), reloads: Number(m[2]), failed: Number(m[3]) };
      continue;
    }
    const w = /^(\d{1,10})\s+worker\s/.exec(line);
    if (w !== null && section === 'workers') workers.push(Number(w[1]));
    else if (w !== null && section === 'old') oldWorkers.push(Number(w[1]));
    else if (section !== 'other') fail(`unexpected line ${quoteForMessage(line)}`);
  }
  if (master === null) fail('no master line');
  return {
    master: master.pid,
    reloads: master.reloads,
    failedReloads: master.failed,
    workers,
    oldWorkers,
  };
}

function fail(message: string): never {
  throw new EdgeError('E_EDGE_PROTOCOL', `show proc: ${message}`);
}
