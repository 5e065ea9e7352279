import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface NoFileLimit {
  readonly soft: number;
  readonly hard: number;
}

const parse = (v: string): number => (v === 'unlimited' ? Infinity : Number(v));

/** This process's RLIMIT_NOFILE as the kernel reports it (Linux), or null if unreadable. */
export function noFileLimit(): NoFileLimit | null {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m) return null;
    const soft = parse(m[1]!);
    const hard = parse(m[2]!);
    return Number.isNaN(soft) || Number.isNaN(hard) ? null : { soft, hard };
  } catch {
    return null;
  }
}

/** No more than this, though the hard limit allow more: each descriptor costs kernel memory. */
const CEILING = 1 << 20;

/**
 * Raise this process's soft RLIMIT_NOFILE to its hard limit, so the agent has room to
 * spare (issue 15). Node cannot call setrlimit itself; util-linux's `prlimit` can, on
 * another process of the same user. Instances are not affected: their spec sets their own
 * limit. Best effort: without prlimit the limit stays as it was. Returns the limit in force.
 */
export function raiseNoFileLimit(): NoFileLimit | null {
  const now = noFileLimit();
  if (!now || now.soft >= Math.min(now.hard, CEILING)) return now;
  const target = Math.min(now.hard, CEILING);
  try {
    execFileSync(
      'prlimit',
      [
        '--pid',
        String(process.pid),
        `--nofile=${target}:${now.hard === Infinity ? 'unlimited' : now.hard}`,
      ],
      {
        stdio: 'ignore',
        timeout: 5000,
      },
    );
  } catch {
    // prlimit missing or refused: keep the limit there is
  }
  return noFileLimit();
}
