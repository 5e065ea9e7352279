import { closeSync, openSync, writeSync } from 'node:fs';
import { PassThrough, Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { LayerChanges } from '../../../core/apply-layer.js';
import { LayerError } from '../../../domain/build-errors.js';
import type { Digest } from '../../../domain/digest.js';
import { isIngotError } from '../../../domain/errors.js';
import type { DroppedEntry, FileExtra as EntryExtra } from '../../../domain/measurement.js';
import { readableLayerTypes, type LayerCompression } from '../../../domain/media-types.js';
import type { Descriptor } from '../../../domain/oci.js';
import { zstd } from '../zstd.js';
import { BombMeter } from './bomb-meter.js';
import { LayerEntries } from './layer-entries.js';
import { DEFAULT_LAYER_LIMITS, type LayerLimits } from './limits.js';

/** What the reader needs of an OCI layout (layout-reader.ts): verified blob reads. */
export interface LayerBlobs {
  /** Chunks of a blob; the last step throws if the content does not match its digest. */
  streamBlob(digest: Digest, maxBytes: number, expectedSize?: number): AsyncIterable<Buffer>;
  readBlob(digest: Digest, maxBytes: number, expectedSize?: number): Promise<Buffer>;
}

export interface ReadLayerOptions {
  readonly limits?: LayerLimits;
  /** Copy the blob, as read (verified once the read succeeds), to this new file. */
  readonly copyTo?: string | null;
  readonly onBytes?: (compressed: number) => void;
  /** Keep every regular file's content as `<objectsDir>/<sha256>` (for materialising). */
  readonly objectsDir?: string;
}

export interface ReadLayerResult {
  readonly changes: LayerChanges<EntryExtra>;
  readonly uncompressedBytes: number;
  /** Device nodes under /dev that the layer carried and the rootfs leaves out. */
  readonly dropped: readonly DroppedEntry[];
}

/**
 * Read one layer of an image: verify the blob against its digest and declared size,
 * decompress within bounds (bomb-meter.ts), check its diff_id, and turn its entries into
 * changes to the rootfs with every file hashed (layer-entries.ts, which names what a
 * hostile archive is refused for). Whether an entry would be written through a symlink is
 * decided when the changes are applied (apply-layer.ts), after the layer's whiteouts.
 *
 * Used for base images at build time and for the store's own layers when a host
 * materialises a rootfs: both are read as if an attacker wrote them.
 */
export async function readBaseLayer(
  layout: LayerBlobs,
  descriptor: Descriptor,
  diffId: Digest,
  options: ReadLayerOptions = {},
): Promise<ReadLayerResult> {
  const limits = options.limits ?? DEFAULT_LAYER_LIMITS;
  const id = descriptor.digest;
  const compression = readableLayerTypes.get(descriptor.mediaType);
  if (compression === undefined)
    throw new LayerError(
      'E_LAYER_MEDIA_TYPE',
      id,
      '',
      `media type ${descriptor.mediaType} is not supported`,
    );

  let compressedBytes = 0;
  const copyFd = options.copyTo ? openSync(options.copyTo, 'wx', 0o644) : null;
  async function* verified(): AsyncGenerator<Buffer> {
    for await (const chunk of layout.streamBlob(id, descriptor.size, descriptor.size)) {
      if (copyFd !== null)
        for (let off = 0; off < chunk.length;)
          off += writeSync(copyFd, chunk, off, chunk.length - off);
      compressedBytes += chunk.length;
      options.onBytes?.(compressedBytes);
      yield chunk;
    }
  }

  const meter = new BombMeter(id, limits, () => compressedBytes);
  const extract = tar.extract();
  const entries = new LayerEntries(id, limits.maxEntries, options.objectsDir);
  const feeding = pipeline(
    Readable.from(verified()),
    decompressor(compression),
    meter.stream,
    extract,
  );
  try {
    for await (const item of extract) await entries.add(item);
    await feeding;
    await entries.flush();
  } catch (err) {
    extract.destroy();
    await feeding.catch(() => undefined);
    // No write may land in the objects folder after the caller removed it.
    await entries.settle();
    // A blob that does not match its digest is the root cause of whatever the decoder or
    // the tar parser then tripped on: report that.
    if (!isIngotError(err)) await layout.readBlob(id, descriptor.size, descriptor.size);
    throw asLayerError(err, id);
  } finally {
    if (copyFd !== null) closeSync(copyFd);
  }

  const actual = meter.diffId();
  if (actual !== diffId) {
    throw new LayerError(
      'E_LAYER_DIFF_ID',
      id,
      '',
      `uncompressed content hashes to ${actual}, but the config's diff_id says ${diffId}`,
    );
  }
  return { changes: entries.changes, uncompressedBytes: meter.bytes, dropped: entries.dropped };
}

function decompressor(compression: LayerCompression): Transform {
  if (compression === 'gzip') return createGunzip();
  if (compression === 'zstd') return new zstd.DecompressStream({ windowLogMax: 27 });
  return new PassThrough();
}

/** Errors from zlib, zstd and the tar parser, in terms of the layer. */
function asLayerError(err: unknown, id: string): unknown {
  if (isIngotError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/unexpected end|premature|truncat/i.test(message))
    return new LayerError(
      'E_LAYER_SIZE_MISMATCH',
      id,
      '',
      `ends before its last entry does (${message})`,
      err,
    );
  return new LayerError('E_LAYER_CORRUPT', id, '', `cannot be read: ${message}`, err);
}
