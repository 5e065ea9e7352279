import { createHash } from 'node:crypto';
import {
  closeSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  constants,
} from 'node:fs';
import { join } from 'node:path';
import type { ObservedEntry } from '../../core/integrity/diff.js';

const CHUNK = 1 << 20;

/** SHA-256 of a file, read without following a symlink that replaced it meanwhile. */
export function hashFile(path: string, buffer = Buffer.allocUnsafe(CHUNK)): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const hash = createHash('sha256');
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
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
 */
export function scanTree(root: string): Map<string, ObservedEntry> {
  const out = new Map<string, ObservedEntry>();
  const buffer = Buffer.allocUnsafe(CHUNK);
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = `${prefix}/${name}`;
      const o = observePath(root, path, buffer);
      if (o === null) continue; // gone meanwhile
      out.set(path, o);
      if (o.type === 'dir') walk(join(dir, name), path);
    }
  };
  walk(root, '');
  return out;
}
