import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Digest } from '../../domain/digest.js';
import { errnoOf } from './errno.js';

/**
 * A content-addressed file that exists, is a regular file (not through a symlink), has the
 * right size and still hashes to its digest. `buffer` is reused by callers that check many.
 */
export function isIntact(
  path: string,
  digest: Digest,
  size: number,
  buffer: Buffer = Buffer.allocUnsafe(4 * 1024 * 1024),
): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ELOOP') return false;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size !== size) return false;
    const hash = createHash('sha256');
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer))
      hash.update(buffer.subarray(0, n));
    return `sha256:${hash.digest('hex')}` === digest;
  } finally {
    closeSync(fd);
  }
}
