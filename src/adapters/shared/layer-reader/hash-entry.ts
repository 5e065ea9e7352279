import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createTempFile } from '../atomic-file.js';

export interface HashedEntry {
  readonly size: number;
  readonly sha256: string;
  readonly sha1: string;
  /** The bytes, when asked for (the SBOM reads some files). */
  readonly content?: Uint8Array;
}

/**
 * A regular file's content from the archive: hashed, kept in memory if `capture`, and kept
 * as `<objectsDir>/<sha256>` when an objects folder is given (for materialising).
 */
export async function hashEntry(
  stream: AsyncIterable<unknown>,
  capture: boolean,
  objectsDir?: string,
): Promise<HashedEntry> {
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  const chunks: Buffer[] = [];
  let size = 0;
  // Content goes to a flat, private folder under names we choose: nothing in the archive
  // decides where a byte is written.
  const object = objectsDir === undefined ? null : createTempFile(objectsDir, 0o600);
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      size += buf.length;
      sha256.update(buf);
      sha1.update(buf);
      if (capture) chunks.push(buf);
      object?.write(buf);
    }
  } catch (err) {
    object?.discard();
    throw err;
  }
  const out = { size, sha256: sha256.digest('hex'), sha1: sha1.digest('hex') };
  // Not synced: the objects are a staging area that a crash throws away whole.
  if (object !== null && objectsDir !== undefined)
    object.commit(join(objectsDir, out.sha256), { durable: false });
  return capture ? { ...out, content: Buffer.concat(chunks) } : out;
}
