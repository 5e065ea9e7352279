import { readFileSync } from 'node:fs';

/**
 * Whether a process runs. `kill(pid, 0)` also succeeds for a zombie, which is what a
 * killed server stays as where nothing reaps orphans (PID 1 in many containers and VMs):
 * /proc says which it is.
 */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": the state follows the last ')' (comm may contain parentheses).
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill()
  }
}
