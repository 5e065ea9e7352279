import { createHash, hash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { HashOutcome, PinnedPath } from './hash-protocol.js';

export const CHUNK = 1 << 20;

/**
 * The rootfs is writable by whatever runs in it, so a file may have been replaced since its
 * folder was listed: by a symlink to a host file (O_NOFOLLOW refuses it), or by a FIFO that
 * would block a plain open forever (O_NONBLOCK returns at once). What is recorded comes from
 * the descriptor's own fstat, so mode, owner, size and content all describe one inode, and
 * anything but a regular file is reported as a race, never read.
 */
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Reading for a check should not change the tree: no atime updates (needs owner or root). */
const NOATIME = constants.O_NOATIME ?? 0;

const RACED: HashOutcome = { kind: 'raced' };
const GONE: HashOutcome = { kind: 'gone' };

function failure(err: unknown): HashOutcome {
  const code = (err as NodeJS.ErrnoException).code ?? 'UNKNOWN';
  if (code === 'ENOENT') return GONE;
  // ELOOP: now a symlink; ENXIO: now a socket, or a device without a driver.
  if (code === 'ELOOP' || code === 'ENXIO') return RACED;
  return { kind: 'failed', code, message: (err as Error).message };
}

/** SHA-256 and metadata of a regular file; `buffer` is scratch space. */
export function hashPinned(pinned: PinnedPath, buffer: Buffer): HashOutcome {
  const path =
    typeof pinned === 'string'
      ? pinned
      : Buffer.from(pinned.buffer, pinned.byteOffset, pinned.byteLength);
  let fd: number;
  try {
    try {
      fd = openSync(path, FLAGS | NOATIME);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
      fd = openSync(path, FLAGS);
    }
  } catch (err) {
    return failure(err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return RACED;
    let n = readSync(fd, buffer, 0, buffer.length, null);
    let size = n;
    let digest: Buffer;
    // A short read of a regular file is its end: most files take one read and one call.
    if (n < buffer.length) digest = hash('sha256', buffer.subarray(0, n), 'buffer');
    else {
      const h = createHash('sha256').update(buffer);
      // Read to the end, but not forever: a file that something keeps appending to is read
      // one chunk past its size, enough to report it changed (its size then differs).
      const limit = st.size + buffer.length;
      while (n === buffer.length && size < limit) {
        n = readSync(fd, buffer, 0, buffer.length, null);
        h.update(buffer.subarray(0, n));
        size += n;
      }
      digest = h.digest();
    }
    return {
      kind: 'hashed',
      digest,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      // The bytes hashed: the fstat size, unless the file is being written.
      size,
    };
  } catch (err) {
    return failure(err);
  } finally {
    closeSync(fd);
  }
}
