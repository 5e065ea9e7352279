import { createHash } from 'node:crypto';
import type { TempFile } from '../atomic-file.js';
import { SMALL_OBJECT, type ObjectWriter } from './object-writer.js';

export interface HashedEntry {
  readonly size: number;
  readonly sha256: string;
  /** Only when no objects folder is given: the SBOM wants it, materialising does not. */
  readonly sha1?: string;
  /** The bytes, when asked for (the SBOM reads some files). */
  readonly content?: Uint8Array;
}

/**
 * A regular file's content from the archive: hashed, kept in memory if `capture`, and kept
 * as `<objects>/<sha256>` when an object writer is given (for materialising).
 */
export async function hashEntry(
  stream: AsyncIterable<unknown>,
  capture: boolean,
  objects?: ObjectWriter,
): Promise<HashedEntry> {
  const sha256 = createHash('sha256');
  // A second pass over every byte that only the build's SBOM reads: not when materialising.
  const sha1 = objects === undefined ? createHash('sha1') : null;
  const chunks: Buffer[] = [];
  let size = 0;
  let file: TempFile | null = null;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      size += buf.length;
      sha256.update(buf);
      sha1?.update(buf);
      if (file !== null) file.write(buf);
      else if (capture || objects !== undefined) chunks.push(buf);
      // Too large to hold: from here on it is streamed to a file of its own.
      if (objects !== undefined && file === null && !capture && size > SMALL_OBJECT) {
        file = objects.begin();
        for (const c of chunks) file.write(c);
        chunks.length = 0;
      }
    }
  } catch (err) {
    file?.discard();
    throw err;
  }
  const out = {
    size,
    sha256: sha256.digest('hex'),
    ...(sha1 !== null && { sha1: sha1.digest('hex') }),
  };
  if (objects !== undefined) {
    if (file !== null) objects.commit(file, out.sha256);
    else await objects.put(out.sha256, Buffer.concat(chunks, size));
  }
  return capture ? { ...out, content: Buffer.concat(chunks) } : out;
}
