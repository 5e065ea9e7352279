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
  const stat = procStat(pid);
  return stat === null || stat[0] !== 'Z'; // no /proc: trust kill()
}

/**
 * What tells this process apart from any later one given the same pid: the boot and the
 * start time in clock ticks (/proc/PID/stat field 22). A pid is reused freely once its
 * process is gone, so a file that names only a pid can come to name a stranger. null
 * without /proc.
 */
export function processStart(pid: number): string | null {
  const stat = procStat(pid);
  const ticks = stat?.[19];
  if (ticks === undefined || !/^\d+$/.test(ticks)) return null;
  try {
    return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}:${ticks}`;
  } catch {
    return null;
  }
}

/**
 * Whether `pid` is still the very process recorded with `start` (processStart's value) and
 * still runs. Without a recorded start (a file of an older Ingot), the pid must at least run
 * a command line that `looksLike` accepts.
 */
export function isSameProcess(
  pid: number,
  start: string | undefined,
  looksLike: (argv: readonly string[]) => boolean,
): boolean {
  if (!isAlive(pid)) return false;
  const now = processStart(pid);
  if (start !== undefined) return now === null || now === start;
  const argv = commandLine(pid);
  return argv === null || looksLike(argv);
}

/** Whether a command line is `ingot … up` (what a server of an older Ingot shows). */
export function looksLikeIngotUp(argv: readonly string[]): boolean {
  return argv.includes('up') && argv.some((a) => /(^|\/)ingot(\.js)?$/.test(a));
}

/** The process's arguments (null without /proc). */
function commandLine(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** The fields of /proc/PID/stat after "(comm)": state first (comm may hold parentheses). */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}
