import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex, digestOf, type Digest } from '../../domain/digest.js';
import { indexSchema, ociLayoutSchema, type ImageIndex } from '../../domain/oci.js';
import { errnoOf } from './errno.js';
import { readUpTo } from './read-fd.js';
import { safeJson } from './safe-json.js';
import { StoreError } from './store-error.js';

/** index.json of a large store is still far below this; a bigger one is an attack. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/** Blobs up to this size are read synchronously (see readSmallBlob). */
const SMALL_BLOB = 1024 * 1024;

/**
 * Read access to an OCI image layout (image-spec image-layout.md), ours or anybody's: the
 * store adapter reads its own through it, base images and the rootfs materialiser read
 * theirs (a shared library, so that those adapters do not reach into each other). A
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

  index(): Promise<ImageIndex> {
    // A throw inside the executor becomes a rejection, as callers of an async API expect.
    return new Promise((resolve) => resolve(this.readIndex()));
  }

  private readIndex(): ImageIndex {
    const path = join(this.root, 'index.json');
    const bytes = readBounded(
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
    if (Math.min(maxBytes, expectedSize ?? Infinity) <= SMALL_BLOB)
      return this.readSmallBlob(digest, maxBytes, expectedSize);
    const chunks: Buffer[] = [];
    for await (const chunk of this.streamBlob(digest, maxBytes, expectedSize)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /**
   * Verify a blob without keeping it: one buffer, reused for every read. The host checks
   * every blob before every start; a fresh buffer per chunk would leave the blob's size in
   * garbage each time, which the allocator keeps long after it is freed.
   */
  async checkBlob(digest: Digest, expectedSize: number): Promise<void> {
    let handle;
    try {
      handle = await open(this.blobPath(digest), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw this.openFailure(err, digest);
    }
    try {
      const info = await handle.stat();
      this.checkStat(info, digest, expectedSize, expectedSize);
      const buf = Buffer.allocUnsafe(Math.max(1, Math.min(256 * 1024, info.size + 1)));
      const hash = createHash('sha256');
      let total = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > expectedSize)
          throw new StoreError(
            'E_BLOB_SIZE_MISMATCH',
            `blob ${digest} grew while it was being read`,
            {
              digest,
            },
          );
        hash.update(buf.subarray(0, bytesRead));
      }
      this.checkDigest(digest, `sha256:${hash.digest('hex')}`);
    } finally {
      await handle.close();
    }
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
      throw this.openFailure(err, digest);
    }
    try {
      const info = await handle.stat();
      this.checkStat(info, digest, maxBytes, expectedSize);
      const hash = createHash('sha256');
      let total = 0;
      for (;;) {
        // No bigger than what is left (plus one byte, to see growth): small blobs, read
        // before every start, must not leave a megabyte of garbage each.
        const buf = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK, info.size - total + 1)));
        const { bytesRead } = await handle.read(buf, 0, buf.length, null);
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
      this.checkDigest(digest, `sha256:${hash.digest('hex')}`);
    } finally {
      await handle.close();
    }
  }
  /**
   * Manifests, configs and bundles are read before every instance start: read them with
   * synchronous calls, which cost microseconds, instead of a hop through libuv's thread
   * pool per call, which costs up to milliseconds on a busy 2-core machine.
   */
  private readSmallBlob(digest: Digest, maxBytes: number, expectedSize?: number): Buffer {
    let fd: number;
    try {
      fd = openSync(this.blobPath(digest), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw this.openFailure(err, digest);
    }
    try {
      const info = fstatSync(fd);
      this.checkStat(info, digest, maxBytes, expectedSize);
      // One byte more than stat said: a file that grows while read is caught, not truncated.
      const buf = Buffer.allocUnsafe(info.size + 1);
      let total = 0;
      for (;;) {
        const n = readSync(fd, buf, total, buf.length - total, null);
        if (n === 0) break;
        total += n;
        if (total > info.size)
          throw new StoreError(
            'E_BLOB_SIZE_MISMATCH',
            `blob ${digest} grew while it was being read`,
            {
              digest,
            },
          );
      }
      const bytes = buf.subarray(0, total);
      if (expectedSize !== undefined && total !== expectedSize)
        throw new StoreError(
          'E_BLOB_SIZE_MISMATCH',
          `blob ${digest} has ${total} bytes but its descriptor declares ${expectedSize}`,
          { digest, actual: total, declared: expectedSize },
        );
      this.checkDigest(digest, digestOf(bytes));
      return bytes;
    } finally {
      closeSync(fd);
    }
  }

  private openFailure(err: unknown, digest: Digest): unknown {
    const code = errnoOf(err);
    if (code === 'ENOENT')
      return new StoreError(
        'E_BLOB_NOT_FOUND',
        `blob ${digest} is not in ${this.root}`,
        { digest, root: this.root },
        err,
      );
    if (code === 'ELOOP')
      return new StoreError(
        'E_BLOB_CORRUPT',
        `blob ${digest} in ${this.root} is a symlink; blobs must be regular files`,
        { digest },
        err,
      );
    return err;
  }

  private checkStat(info: Stats, digest: Digest, maxBytes: number, expectedSize?: number): void {
    if (!info.isFile())
      throw new StoreError(
        'E_BLOB_CORRUPT',
        `blob ${digest} in ${this.root} is not a regular file`,
        {
          digest,
        },
      );
    if (expectedSize !== undefined && info.size !== expectedSize)
      throw new StoreError(
        'E_BLOB_SIZE_MISMATCH',
        `blob ${digest} has ${info.size} bytes but its descriptor declares ${expectedSize}`,
        { digest, actual: info.size, declared: expectedSize },
      );
    if (info.size > maxBytes)
      throw new StoreError(
        'E_BLOB_TOO_LARGE',
        `blob ${digest} has ${info.size} bytes, more than the ${maxBytes} allowed here`,
        { digest, size: info.size, max: maxBytes },
      );
  }

  private checkDigest(digest: Digest, actual: string): void {
    if (actual !== digest)
      throw new StoreError(
        'E_BLOB_CORRUPT',
        `blob ${digest} in ${this.root} is corrupt: its content hashes to ${actual}`,
        { digest, actual, path: this.blobPath(digest) },
      );
  }
}

function readBounded(path: string, max: number, missing: () => Error): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw missing();
    throw err;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > max) {
      throw new StoreError(
        'E_STORE_INVALID',
        `${path} is not a regular file of at most ${max} bytes`,
        { path },
      );
    }
    // Synchronously, as readSmallBlob explains; the bound keeps the pause short.
    return readUpTo(fd, info.size);
  } finally {
    closeSync(fd);
  }
}
