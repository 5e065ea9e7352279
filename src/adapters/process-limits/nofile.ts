import { readFileSync } from 'node:fs';

export interface NoFileLimit {
  readonly soft: number;
  readonly hard: number;
}

const parse = (v: string): number => (v === 'unlimited' ? Infinity : Number(v));

/**
 * This process's RLIMIT_NOFILE as the kernel reports it (Linux), or null if unreadable.
 * Node itself raises the soft limit to the hard one as it starts (node.cc, PlatformInit):
 * what this reads is already all the process may have.
 */
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
