import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * An instance's log, bounded by the kernel. The container writes its stdout and stderr
 * straight into a file (no process of ours sits in between, so the instance keeps logging
 * while the server is down), and a file on disk grows as fast as the instance writes: a
 * 400 MB burst between two rotations went to disk whole. So the current log lives on a
 * tmpfs of half the cap, which can hold no more: past it the instance's writes fail
 * (ENOSPC) until the agent rotates it into `log.1` on disk, which is never more than the
 * other half. At most the cap in all, whatever the instance writes.
 *
 *   <bundle>/out/log   the current log (its own tmpfs, half the cap)
 *   <bundle>/log.1     the previous one (at most half the cap)
 *   <bundle>/log       the log of an instance started before this layout (unbounded)
 */

const PAGE = 4096;
/** A tmpfs holds whole pages: the smallest cap that splits into two of them. */
export const MIN_LOG_BYTES = 2 * PAGE;

/** The current log's bound: half the cap, in whole pages. */
export function halfOf(maxBytes: number): number {
  return Math.max(PAGE, Math.floor(Math.max(maxBytes, MIN_LOG_BYTES) / 2 / PAGE) * PAGE);
}

const outDir = (bundle: string) => join(bundle, 'out');

/** Mount the current log's tmpfs (once) and open the log in it for appending. */
export function openBoundedLog(bundle: string, maxBytes: number): number {
  const dir = outDir(bundle);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!isMountPoint(dir))
    execFileSync('mount', [
      '-t',
      'tmpfs',
      '-o',
      `size=${halfOf(maxBytes)},nr_inodes=16,mode=0700,nosuid,nodev,noexec`,
      'ingot-log',
      dir,
    ]);
  return openSync(join(dir, 'log'), 'a', 0o600);
}

/**
 * Once the current log is three quarters full, its content becomes `log.1` and it starts
 * empty (the container appends, O_APPEND, to the same file). What the instance writes
 * between the copy and the truncation is lost: a log is bounded, not lossless.
 */
export function rotateBoundedLog(bundle: string, maxBytes: number): void {
  const half = halfOf(maxBytes);
  const current = existsSync(join(outDir(bundle), 'log'))
    ? join(outDir(bundle), 'log')
    : join(bundle, 'log');
  try {
    if (statSync(current).size < (half * 3) / 4) return;
    const head = Buffer.alloc(half);
    const fd = openSync(current, 'r');
    let n = 0;
    try {
      n = readSync(fd, head, 0, half, 0);
    } finally {
      closeSync(fd);
    }
    const old = join(bundle, 'log.1');
    writeFileSync(`${old}.tmp`, head.subarray(0, n), { mode: 0o600 });
    truncateSync(current, 0);
    renameSync(`${old}.tmp`, old);
  } catch {
    // no log yet
  }
}

/** The log files, oldest first. */
export function readBoundedLog(bundle: string): string {
  return readBoundedLogBytes(bundle).toString('utf8');
}

/** The same, as bytes: offsets into it are what `logs -f` through a server resumes from. */
export function readBoundedLogBytes(bundle: string): Buffer {
  return Buffer.concat(
    [join(bundle, 'log.1'), join(bundle, 'log'), join(outDir(bundle), 'log')]
      .filter((p) => existsSync(p))
      .map((p) => readFileSync(p)),
  );
}

/** Unmount the current log's tmpfs, if there is one (before its folder is removed). */
export function unmountLog(bundle: string): void {
  const dir = outDir(bundle);
  if (!existsSync(dir) || !isMountPoint(dir)) return;
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    // Still open somewhere (a `logs -f` reading it): detach it now, freed when closed.
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  }
}

/** Whether `dir` is a mount point: another device than its parent's. */
function isMountPoint(dir: string): boolean {
  try {
    return statSync(dir).dev !== statSync(join(dir, '..')).dev;
  } catch {
    return false;
  }
}
