import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  afterRotation,
  bounded,
  formatMarks,
  MARK_EVERY_MS,
  MAX_MARKS,
  nextMark,
  parseMarks,
  type LogMark,
} from '../../core/runtime/log-marks.js';

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
 *   <bundle>/log.marks its time marks (core/runtime/log-marks.ts), on disk beside log.1
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
    const dropped = sizeOf(join(bundle, 'log.1'));
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
    // The marks follow the bytes: offsets move back by what the old rotated file held. They
    // are rewritten before the new bytes are renamed in. A reader reads the marks, then the
    // bytes: the other way round, one that read both between the rename and the marks' write
    // got the old marks with the new bytes (wrong times, a `--since` start past the end).
    // One whose reads straddle the rotation can still pair marks and bytes of different
    // rotations: it ignores marks that point past the bytes it read (answerLog).
    shiftMarks(bundle, afterRotation(readLogMarks(bundle), { dropped, kept: n }));
    renameSync(`${old}.tmp`, old);
  } catch {
    // no log yet
  }
}

const marksFile = (bundle: string) => join(bundle, 'log.marks');
const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);

/** What the agent knows of each log's marks without reading the file again every tick. */
const lastMarks = new Map<string, { last: LogMark | undefined; count: number }>();

/** The log's time marks, oldest first ([] for none, or a file that holds none). */
export function readLogMarks(bundle: string): LogMark[] {
  try {
    return parseMarks(readFileSync(marksFile(bundle), 'utf8'));
  } catch {
    return [];
  }
}

/**
 * The marks after a rotation. Not written (a full disk): they are removed, not kept, since
 * the old ones would stamp the wrong bytes, and the agent's next mark after a stale one of a
 * larger offset would be read as going back (parseMarks skips it): no marks until the next
 * rotation. Removed, marking starts over from the log as it is.
 */
function shiftMarks(bundle: string, marks: readonly LogMark[]): void {
  try {
    writeMarks(bundle, marks);
  } catch {
    dropMarks(bundle);
  }
}

/** No marks, and nothing of them cached: the next tick reads the file (none) afresh. */
function dropMarks(bundle: string): void {
  lastMarks.delete(bundle);
  for (const file of [marksFile(bundle), `${marksFile(bundle)}.tmp`])
    try {
      rmSync(file, { force: true });
    } catch {
      // Left as it is: a reader ignores marks past its bytes; the rotation goes on regardless.
    }
}

/** Replace the marks whole: a temporary file renamed over, so a reader sees old or new. */
function writeMarks(bundle: string, marks: readonly LogMark[]): void {
  const kept = bounded(marks);
  writeFileSync(`${marksFile(bundle)}.tmp`, formatMarks(kept), { mode: 0o600 });
  renameSync(`${marksFile(bundle)}.tmp`, marksFile(bundle));
  lastMarks.set(bundle, { last: kept[kept.length - 1], count: kept.length });
}

/**
 * Note how long the log is now, if it grew and the last mark is MARK_EVERY_MS old: one short
 * line appended (a line cut by a crash is skipped when read). Past twice MAX_MARKS lines the
 * file is rewritten with the last MAX_MARKS, so it stays bounded (about 100 KiB).
 */
export function markBoundedLog(bundle: string, now: number): void {
  try {
    markNow(bundle, now);
  } catch {
    // Marks are a help to read the log by, never a reason to stop watching the instance (a
    // full disk, a bundle removed meanwhile): the next tick tries again.
  }
}

function markNow(bundle: string, now: number): void {
  let known = lastMarks.get(bundle);
  if (known?.last !== undefined && now - known.last.at < MARK_EVERY_MS) return;
  if (known === undefined) {
    const marks = readLogMarks(bundle);
    known = { last: marks[marks.length - 1], count: marks.length };
    lastMarks.set(bundle, known);
  }
  const size =
    sizeOf(join(bundle, 'log.1')) +
    sizeOf(join(bundle, 'log')) +
    sizeOf(join(outDir(bundle), 'log'));
  const mark = nextMark(known.last, size, now);
  if (mark === null) return;
  if (known.count + 1 > 2 * MAX_MARKS) {
    writeMarks(bundle, [...readLogMarks(bundle), mark]);
    return;
  }
  appendFileSync(marksFile(bundle), formatMarks([mark]), { mode: 0o600 });
  lastMarks.set(bundle, { last: mark, count: known.count + 1 });
}

/** Forget what is cached of a log's marks (its instance is removed). */
export function forgetLogMarks(bundle: string): void {
  lastMarks.delete(bundle);
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
