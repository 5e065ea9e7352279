import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { IngotError } from '../../domain/errors.js';

/**
 * Read a small text file a user named (ingot.yaml, policy.yaml): it must be a regular file
 * within the bound. Opened non-blocking, so a FIFO or a device named by mistake (or by an
 * attacker) is refused instead of hanging the command.
 */
export function readSpecFile(
  path: string,
  shown: string,
  maxBytes: number,
  codes: { readonly notFound: string; readonly tooLarge: string },
  options: { readonly noFollow?: boolean } = {},
): Buffer {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0),
    );
  } catch (err) {
    throw new IngotError(codes.notFound, `${shown}: cannot be read (${(err as Error).message})`, {
      cause: err,
    });
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new IngotError(codes.notFound, `${shown}: not a regular file`);
    if (info.size > maxBytes)
      throw new IngotError(codes.tooLarge, `${shown}: larger than ${maxBytes} bytes`);
    const buf = Buffer.alloc(info.size);
    let total = 0;
    while (total < info.size) {
      const n = readSync(fd, buf, total, info.size - total, total);
      if (n === 0) break;
      total += n;
    }
    return buf.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}
