import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Read up to `size` bytes of an open file from its start; shorter if the file shrank. */
export function readUpTo(fd: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  let total = 0;
  while (total < size) {
    const n = readSync(fd, buf, total, size - total, total);
    if (n === 0) break;
    total += n;
  }
  return buf.subarray(0, total);
}

/**
 * A whole file of at most `max` bytes, or null if it is missing, unreadable or larger: for
 * caches, which are simply empty when they cannot be read.
 */
export function readFileUpTo(path: string, max: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    return size > max ? null : readUpTo(fd, size);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
