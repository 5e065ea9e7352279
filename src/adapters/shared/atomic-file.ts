import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Every file Ingot replaces goes through here, so that a reader (or a crash) never sees half
 * a file: it is written under a temporary name in its own folder, then renamed over the old
 * one. A rename is durable only once the folder holding it is fsynced, so the durable forms
 * sync the file, rename, then sync the folder.
 *
 *   writeFileAtomic(path, data, { mode })     state, indexes, keys: durable
 *   writeFileReplacing(path, data, { mode })  caches: atomic, not durable
 *   writeFileExclusive(path, data, { mode })  secrets: durable, never replaces anything
 *   createTempFile(dir, mode) … commit(path)  the same for content written piece by piece
 *   moveIntoPlace(from, to)                   a file written elsewhere in the same filesystem
 *   syncFile(path)                            …its fsync started early, off the event loop
 */

export interface WriteOptions {
  /** Permission bits of the new file (before the umask); 0o644 unless said. */
  readonly mode?: number;
}

/** Old content or new, never a mix, even after a crash; on disk when this returns. */
export function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteOptions = {},
): void {
  writeWhole(path, data, options.mode ?? 0o644).commit(path);
}

/**
 * Like writeFileAtomic without the syncs: readers still see the old file or the new one,
 * but after a crash it may be either, or gone. For caches, whose loss costs only time.
 */
export function writeFileReplacing(
  path: string,
  data: Uint8Array | string,
  options: WriteOptions = {},
): void {
  writeWhole(path, data, options.mode ?? 0o644).commit(path, { durable: false });
}

/**
 * Like writeFileAtomic, but never replaces an existing file (mode 0o600 unless said): the
 * temp file is hard-linked to its name, which fails with EEXIST if something is there, even
 * a file created a moment ago by someone else. For secrets, where an overwrite is a loss.
 */
export function writeFileExclusive(
  path: string,
  data: Uint8Array | string,
  options: WriteOptions = {},
): void {
  writeWhole(path, data, options.mode ?? 0o600).commit(path, { exclusive: true });
}

export interface CommitOptions {
  /** fsync the file before, and its folder after (default true). */
  readonly durable?: boolean;
  /** Fail with EEXIST instead of replacing a file already at the name. */
  readonly exclusive?: boolean;
}

/** A file being written under a temporary name, until it is committed or discarded. */
export interface TempFile {
  readonly path: string;
  write(bytes: Uint8Array): void;
  /** Close it and give it its name (in the same filesystem), replacing what was there. */
  commit(to: string, options?: CommitOptions): void;
  /** Close and remove it; safe after a failed commit. */
  discard(): void;
}

/** A new, empty temp file in `dir`, created exclusively under a random name. */
export function createTempFile(dir: string, mode = 0o644): TempFile {
  const path = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  let fd: number | null = openSync(path, 'wx', mode);
  const close = (): void => {
    if (fd === null) return;
    const open = fd;
    fd = null;
    closeSync(open);
  };
  const discard = (): void => {
    try {
      close();
    } finally {
      rmSync(path, { force: true });
    }
  };
  return {
    path,
    write(bytes) {
      if (fd === null) throw new Error(`${path} is closed`);
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    },
    commit(to, { durable = true, exclusive = false } = {}) {
      try {
        if (durable && fd !== null) fsyncSync(fd);
        close();
        if (exclusive) linkSync(path, to);
        else renameSync(path, to);
      } catch (err) {
        discard();
        throw err;
      }
      if (exclusive) rmSync(path, { force: true });
      if (durable) fsyncDir(dirname(to));
    },
    discard,
  };
}

/**
 * Put a closed file written elsewhere on the same filesystem (a staging folder) at `to`,
 * replacing what is there: fsynced first, so that the name never points at lost content.
 * `syncFolder: false` is for callers that move many files into one folder and fsyncDir it
 * once afterwards; until then the moves may be undone by a crash.
 */
export function moveIntoPlace(
  from: string,
  to: string,
  options: {
    readonly syncFolder?: boolean;
    /** `from` was fsynced (syncFile) after its last change: only the rename is left. */
    readonly synced?: boolean;
  } = {},
): void {
  if (options.synced !== true) {
    const fd = openSync(from, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  renameSync(from, to);
  if (options.syncFolder ?? true) fsyncDir(dirname(to));
}

/**
 * fsync a closed file in libuv's thread pool rather than on the event loop: for callers that
 * stage many files, so that each is written back to disk while the next ones still arrive,
 * instead of all of them at the end; moveIntoPlace(…, { synced: true }) then only renames.
 */
export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Make the renames, creations and removals of names in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeWhole(path: string, data: Uint8Array | string, mode: number): TempFile {
  const tmp = createTempFile(dirname(path), mode);
  try {
    tmp.write(typeof data === 'string' ? Buffer.from(data) : data);
  } catch (err) {
    tmp.discard();
    throw err;
  }
  return tmp;
}
