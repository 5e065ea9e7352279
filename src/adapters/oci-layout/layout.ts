import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex, type Digest } from '../../domain/digest.js';
import { indexSchema, ociLayoutSchema, type ImageIndex } from '../../domain/oci.js';
import { errnoOf } from '../shared/errno.js';
import { StoreError } from './errors.js';

/** index.json of a large store is still far below this; a bigger one is an attack. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/**
 * Read access to an OCI image layout (image-spec image-layout.md), ours or anybody's. A
 * layout given to us as a base is attacker-controlled: blobs are opened without following
 * symlinks, must be regular files of the size their descriptor declares, are read within a
 * bound, and are verified against their digest before anything derived from them is used.
 */
export class OciLayout {
  constructor(readonly root: string) {}

  blobPath(digest: Digest): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  async checkLayout(): Promise<void> {
    let text: string;
    try {
      text = await readFile(join(this.root, 'oci-layout'), 'utf8');
    } catch (err) {
      throw new StoreError(
        'E_STORE_INVALID',
        `${this.root} is not an OCI image layout (no oci-layout file)`,
        { root: this.root },
        err,
      );
    }
    const parsed = ociLayoutSchema.safeParse(safeJson(text));
    if (!parsed.success) {
      throw new StoreError(
        'E_STORE_INVALID',
        `${this.root}/oci-layout: expected {"imageLayoutVersion":"1.0.0"}`,
        { root: this.root },
      );
    }
  }

  async index(): Promise<ImageIndex> {
    const path = join(this.root, 'index.json');
    const bytes = await readBounded(
      path,
      MAX_INDEX_BYTES,
      () => new StoreError('E_STORE_INVALID', `${path} is missing`, { path }),
    );
    const parsed = indexSchema.safeParse(safeJson(bytes.toString('utf8')));
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new StoreError(
        'E_STORE_INVALID',
        `${path} is not a valid OCI image index (${first?.path.join('.') ?? ''}: ${first?.message ?? ''})`,
        { path },
      );
    }
    return parsed.data;
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    try {
      return (await stat(this.blobPath(digest))).isFile();
    } catch {
      return false;
    }
  }

  /** A blob read whole and verified. */
  async readBlob(digest: Digest, maxBytes: number, expectedSize?: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.streamBlob(digest, maxBytes, expectedSize)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /**
   * A blob as a stream of chunks, hashed as it goes; the last step throws E_BLOB_CORRUPT if
   * the content does not match its digest. Consumers must not commit anything derived from
   * the chunks until the iteration has finished without error.
   */
  async *streamBlob(
    digest: Digest,
    maxBytes: number,
    expectedSize?: number,
  ): AsyncGenerator<Buffer> {
    const path = this.blobPath(digest);
    let handle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT')
        throw new StoreError(
          'E_BLOB_NOT_FOUND',
          `blob ${digest} is not in ${this.root}`,
          { digest, root: this.root },
          err,
        );
      if (code === 'ELOOP')
        throw new StoreError(
          'E_BLOB_CORRUPT',
          `blob ${digest} in ${this.root} is a symlink; blobs must be regular files`,
          { digest },
          err,
        );
      throw err;
    }
    try {
      const info: Stats = await handle.stat();
      if (!info.isFile())
        throw new StoreError(
          'E_BLOB_CORRUPT',
          `blob ${digest} in ${this.root} is not a regular file`,
          { digest },
        );
      if (expectedSize !== undefined && info.size !== expectedSize) {
        throw new StoreError(
          'E_BLOB_SIZE_MISMATCH',
          `blob ${digest} has ${info.size} bytes but its descriptor declares ${expectedSize}`,
          { digest, actual: info.size, declared: expectedSize },
        );
      }
      if (info.size > maxBytes) {
        throw new StoreError(
          'E_BLOB_TOO_LARGE',
          `blob ${digest} has ${info.size} bytes, more than the ${maxBytes} allowed here`,
          { digest, size: info.size, max: maxBytes },
        );
      }
      const hash = createHash('sha256');
      let total = 0;
      for (;;) {
        const buf = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await handle.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        // The file may grow while we read it: the bound holds for what we read, not for stat.
        if (total > maxBytes || (expectedSize !== undefined && total > expectedSize)) {
          throw new StoreError(
            'E_BLOB_SIZE_MISMATCH',
            `blob ${digest} grew while it was being read`,
            { digest },
          );
        }
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        yield chunk;
      }
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== digest) {
        throw new StoreError(
          'E_BLOB_CORRUPT',
          `blob ${digest} in ${this.root} is corrupt: its content hashes to ${actual}`,
          { digest, actual, path },
        );
      }
    } finally {
      await handle.close();
    }
  }
}

async function readBounded(path: string, max: number, missing: () => Error): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw missing();
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > max) {
      throw new StoreError(
        'E_STORE_INVALID',
        `${path} is not a regular file of at most ${max} bytes`,
        { path },
      );
    }
    const buf = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buf, 0, info.size, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
