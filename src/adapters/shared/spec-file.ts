import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { IngotError } from '../../domain/errors.js';
import type { SpecFileCodes } from '../../ports/spec-file.js';
import { readUpTo } from './read-fd.js';

/**
 * Read a small text file a user named (ingot.yaml, policy.yaml): it must be a regular file
 * within the bound. Opened non-blocking, so a FIFO or a device named by mistake (or by an
 * attacker) is refused instead of hanging the command. Implements ReadSpecFile
 * (ports/spec-file.ts), which services receive from their composition root.
 */
export function readSpecFile(
  path: string,
  shown: string,
  maxBytes: number,
  codes: SpecFileCodes,
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
    return readUpTo(fd, info.size);
  } finally {
    closeSync(fd);
  }
}
