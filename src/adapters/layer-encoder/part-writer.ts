import { createHash, randomBytes } from 'node:crypto';
import { close, closeSync, fsync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Digest } from '../../domain/digest.js';
import { layerMediaType, type LayerCompression } from '../../domain/media-types.js';
import type { EncodedPart } from '../../ports/layer-encoder.js';
import { awaitedLater } from '../shared/later.js';
import type { MemberLocation } from './segment-cache.js';

const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);
const writeAsync = promisify(write);

async function writeAll(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let off = 0; off < bytes.length;) {
    const { bytesWritten } = await writeAsync(fd, bytes, off, bytes.length - off, position + off);
    off += bytesWritten;
  }
}

/**
 * One part's blob as its segments arrive in stream order: staged under a fresh name in the
 * transaction's staging folder, hashed as it grows (the blob digest and, when compressed,
 * the diff_id), flushed in the background once complete.
 */
export class PartWriter {
  readonly path: string;
  readonly fd: number;
  private readonly diffHash = createHash('sha256');
  private readonly blobHash = createHash('sha256');
  private readonly writes: Promise<void>[] = [];
  private readonly members: [string, Omit<MemberLocation, 'blob'>][] = [];
  private size = 0;
  private reused = 0;
  private flushed: Promise<void> | null = null;

  constructor(
    stagingDir: string,
    private readonly compression: LayerCompression,
    private readonly rawBytes: number,
  ) {
    this.path = join(stagingDir, `layer-${randomBytes(6).toString('hex')}`);
    this.fd = openSync(this.path, 'wx', 0o644);
  }

  /** An uncompressed segment, which the worker already wrote at its offset. */
  wroteRaw(raw: Uint8Array): void {
    this.blobHash.update(raw);
    this.size += raw.length;
  }

  /** A compressed segment: hashed here, written on libuv's threads. */
  write(
    raw: Uint8Array,
    compressed: Uint8Array,
    key: string | null,
    memberSha256: string | null,
    reused: boolean,
  ): Promise<void> {
    this.diffHash.update(raw);
    this.blobHash.update(compressed);
    const written = awaitedLater(writeAll(this.fd, compressed, this.size));
    this.writes.push(written);
    if (key !== null && memberSha256 !== null)
      this.members.push([
        key,
        { offset: this.size, length: compressed.length, sha256: memberSha256 },
      ]);
    this.size += compressed.length;
    if (reused) this.reused += raw.length;
    return written;
  }

  /** The part, complete: flushed to stable storage in the background, then closed. */
  finish(): { part: EncodedPart; members: [string, Omit<MemberLocation, 'blob'>][] } {
    const digest = `sha256:${this.blobHash.digest('hex')}` as Digest;
    const fd = this.fd;
    this.flushed = Promise.all(this.writes)
      .then(() => fsyncAsync(fd))
      .finally(() => closeAsync(fd));
    return {
      part: {
        descriptor: { mediaType: layerMediaType[this.compression], digest, size: this.size },
        diffId:
          this.compression === 'none'
            ? digest
            : (`sha256:${this.diffHash.digest('hex')}` as Digest),
        staged: awaitedLater(this.flushed.then(() => this.path)),
        rawBytes: this.rawBytes,
        reusedBytes: this.reused,
        fromStore: false,
      },
      members: this.members,
    };
  }

  /** After a failure: let pending writes settle and close the file (the staging folder goes). */
  async abandon(): Promise<void> {
    if (this.flushed) {
      await this.flushed.catch(() => undefined);
      return;
    }
    await Promise.allSettled(this.writes);
    closeSync(this.fd);
  }
}
