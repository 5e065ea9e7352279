import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Write a file so that readers see either the old content or the new, never a mix, even
 * after a crash: temp name in the same directory, fsync, rename, fsync the directory.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): void {
  const tmp = writeTemp(path, data, mode);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(path));
}

/**
 * Like writeFileAtomic without the syncs: readers still see the old file or the new one,
 * but after a crash it may be either, or gone. For caches, whose loss costs only time.
 */
export function writeFileReplacing(path: string, data: Uint8Array | string, mode = 0o644): void {
  const tmp = writeTemp(path, data, mode, false);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Like writeFileAtomic, but never replaces an existing file: the temp file is hard-linked
 * to its name, which fails with EEXIST if something is there, even a file created a moment
 * ago by someone else. For secrets, where an overwrite is a loss.
 */
export function writeFileExclusive(path: string, data: Uint8Array | string, mode = 0o600): void {
  const tmp = writeTemp(path, data, mode);
  try {
    linkSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncDir(dirname(path));
}

function writeTemp(path: string, data: Uint8Array | string, mode: number, sync = true): string {
  const tmp = join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    if (sync) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  return tmp;
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
