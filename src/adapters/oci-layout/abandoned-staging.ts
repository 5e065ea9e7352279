import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Remove what killed processes left in the staging folder: a push, pull or build stopped
 * mid-way (SIGKILL, a crash, a lost machine) never reaches its abort, and its half-fetched
 * layers would sit there for good. Each entry is named `<pid>-…` by the process that made it;
 * only entries whose process is gone are removed. A reused pid keeps an entry a while longer,
 * which is harmless; a live process's entry is never touched. Returns what was removed.
 */
export function sweepAbandonedStaging(folder: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(folder)) {
    const pid = /^([1-9][0-9]{0,9})-/.exec(name)?.[1];
    if (pid === undefined || isAlive(Number(pid))) continue;
    rmSync(join(folder, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, another user's. Only ESRCH says no such process.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
