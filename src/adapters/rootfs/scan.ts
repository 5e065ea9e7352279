import { createHash } from 'node:crypto';
import {
  closeSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  constants,
  fstatSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ObservedEntry } from '../../core/integrity/diff.js';

const CHUNK = 1 << 20;

/** SHA-256 of a file, read without following a symlink that replaced it meanwhile. */
export function hashFile(path: string, buffer = Buffer.allocUnsafe(CHUNK)): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const hash = createHash('sha256');
    // A file that keeps growing is read at most one chunk past its size: its hash is wrong
    // then anyway, and the reader must not be held forever.
    const limit = fstatSync(fd).size + buffer.length;
    for (let read = 0; read <= limit;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      read += n;
    }
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/**
 * One path of a rootfs (an image path, "/etc/passwd") as a measurement would record it,
 * or null if nothing is there. Nothing is followed: a symlink is observed as a symlink.
 */
export function observePath(
  root: string,
  path: string,
  buffer = Buffer.allocUnsafe(CHUNK),
): ObservedEntry | null {
  const abs = join(root, path);
  let st;
  try {
    st = lstatSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (st.isDirectory()) return { type: 'dir', ...base, size: 0 };
  if (st.isSymbolicLink())
    return { type: 'symlink', ...base, mode: 0o777, size: 0, target: readlinkSync(abs) };
  if (st.isFile()) return { type: 'file', ...base, size: st.size, sha256: hashFile(abs, buffer) };
  return { type: 'other', ...base, size: 0 };
}

/**
 * Everything under `root` as image paths ("/etc/passwd") with what a measurement records;
 * files hashed. Nothing is followed: a symlink is observed as a symlink.
 *
 * `written` gives, for files the caller wrote itself and hashed while writing them (the
 * materialiser, into its own private folder), that hash: their content is not read again.
 * Every other file is read and hashed, so that anything unexpected is still seen as it is.
 */
export function scanTree(
  root: string,
  written?: ReadonlyMap<string, string>,
): Map<string, ObservedEntry> {
  const out = new Map<string, ObservedEntry>();
  const buffer = Buffer.allocUnsafe(CHUNK);
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = `${prefix}/${name}`;
      // Listed but not found by its name: gone meanwhile, or a name that is not UTF-8 and
      // so cannot be spelled back. Either way it is reported (as "other"), never skipped.
      const known = written?.get(path);
      const o = (known !== undefined ? observeWritten(root, path, known, buffer) : null) ??
        observePath(root, path, buffer) ?? {
          type: 'other',
          mode: 0,
          uid: 0,
          gid: 0,
          size: 0,
        };
      out.set(path, o);
      if (o.type === 'dir') walk(join(dir, name), path);
    }
  };
  walk(root, '');
  return out;
}

/** A file the caller wrote and hashed itself, observed without reading it; null otherwise. */
function observeWritten(
  root: string,
  path: string,
  sha256: string,
  buffer: Buffer<ArrayBuffer>,
): ObservedEntry | null {
  const st = lstatSync(join(root, path), { throwIfNoEntry: false });
  if (!st?.isFile()) return observePath(root, path, buffer);
  return { type: 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, sha256 };
}
