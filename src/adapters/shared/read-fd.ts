import { readSync } from 'node:fs';

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
