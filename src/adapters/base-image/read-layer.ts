import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { LayerChanges } from '../../core/apply-layer.js';
import { parseEntryName, pathProblemText, toImagePath } from '../../core/paths.js';
import { wantsContent } from '../../core/sbom/capture.js';
import { classifyEntry } from '../../core/whiteout.js';
import { LayerError } from '../../domain/build-errors.js';
import type { Digest } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import type { FileExtra as EntryExtra, MeasuredEntry } from '../../domain/measurement.js';
import { readableLayerTypes } from '../../domain/media-types.js';
import type { Descriptor } from '../../domain/oci.js';
import type { OciLayout } from '../oci-layout/layout.js';
import { createTempFile } from '../shared/atomic-file.js';
import { zstd } from '../shared/zstd.js';

export interface LayerLimits {
  /** Uncompressed bytes of one layer. */
  readonly maxBytes: number;
  /** Entries of one layer. */
  readonly maxEntries: number;
  /** Uncompressed/compressed, checked once `ratioAfter` bytes have come out. */
  readonly maxRatio: number;
  readonly ratioAfter: number;
}

export const DEFAULT_LAYER_LIMITS: LayerLimits = {
  maxBytes: 16 * 1024 ** 3,
  maxEntries: 1_000_000,
  maxRatio: 250,
  ratioAfter: 64 * 1024 ** 2,
};

export interface ReadLayerResult {
  readonly changes: LayerChanges<EntryExtra>;
  readonly uncompressedBytes: number;
}

/**
 * Read one layer of a base image: verify the blob against its digest and declared size,
 * decompress within bounds, check its diff_id, and turn its entries into changes to the
 * rootfs with every file hashed. Optionally copy the blob (as read, verified) to `copyTo`.
 *
 * The archive is hostile: names that climb, absolute or malformed names, duplicates, hard
 * links to anything but an earlier file of the same layer, device nodes and FIFOs are each
 * refused with their own code. Whether an entry would be written through a symlink is
 * decided when the changes are applied (apply-layer.ts), after the layer's whiteouts.
 */
export async function readBaseLayer(
  layout: OciLayout,
  descriptor: Descriptor,
  diffId: Digest,
  options: {
    limits?: LayerLimits;
    copyTo?: string | null;
    onBytes?: (compressed: number) => void;
    /** Keep every regular file's content as `<objectsDir>/<sha256>` (for materialising). */
    objectsDir?: string;
  } = {},
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

  const diffHash = createHash('sha256');
  let uncompressed = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      uncompressed += chunk.length;
      if (uncompressed > limits.maxBytes) {
        done(
          new LayerError(
            'E_LAYER_BOMB',
            id,
            '',
            `decompresses to more than ${limits.maxBytes} bytes`,
          ),
        );
        return;
      }
      if (
        uncompressed > limits.ratioAfter &&
        uncompressed > limits.maxRatio * Math.max(compressedBytes, 1)
      ) {
        done(
          new LayerError(
            'E_LAYER_BOMB',
            id,
            '',
            `decompresses more than ${limits.maxRatio} times its compressed size: a decompression bomb`,
          ),
        );
        return;
      }
      diffHash.update(chunk);
      done(null, chunk);
    },
  });
  const decompress =
    compression === 'gzip'
      ? createGunzip()
      : compression === 'zstd'
        ? new zstd.DecompressStream({ windowLogMax: 27 })
        : new PassThrough();

  const extract = tar.extract();
  const whiteouts: string[] = [];
  const opaques: string[] = [];
  const entries: { entry: MeasuredEntry; extra?: EntryExtra }[] = [];
  const seen = new Set<string>();
  const files = new Map<string, { entry: MeasuredEntry; extra: EntryExtra }>();

  const feeding = pipeline(Readable.from(verified()), decompress, meter, extract);
  try {
    for await (const item of extract) {
      const h = item.header;
      const parsed = parseEntryName(h.name);
      if (!parsed.ok)
        throw new LayerError(
          'E_LAYER_ENTRY_NAME',
          id,
          h.name.slice(0, 300),
          `invalid entry name: it ${pathProblemText[parsed.problem]}`,
        );
      if (parsed.path === '') {
        item.resume();
        continue; // the archive root; the rootfs itself is not measured
      }
      const path = toImagePath(parsed.path);
      if (seen.has(path))
        throw new LayerError('E_LAYER_DUPLICATE_ENTRY', id, path, 'appears twice in the layer');
      seen.add(path);
      if (seen.size > limits.maxEntries)
        throw new LayerError('E_LAYER_BOMB', id, '', `has more than ${limits.maxEntries} entries`);

      const role = classifyEntry(path);
      if (role.kind === 'invalid')
        throw new LayerError('E_LAYER_ENTRY_NAME', id, path, 'is a malformed whiteout');
      if (role.kind !== 'entry') {
        if (role.kind === 'whiteout') whiteouts.push(role.target);
        else opaques.push(role.dir);
        item.resume();
        continue;
      }

      // tar-stream applies pax path/linkpath/size but not uid/gid: apply them here.
      const pax = (h.pax ?? {}) as Record<string, string | undefined>;
      const owner = {
        mode: (h.mode ?? 0) & 0o7777,
        uid: paxNumber(pax['uid']) ?? h.uid ?? 0,
        gid: paxNumber(pax['gid']) ?? h.gid ?? 0,
      };
      switch (h.type) {
        case 'file':
        case 'contiguous-file': {
          const { size, sha256, sha1, content } = await hashEntry(
            item,
            wantsContent(path, h.size ?? 0),
            options.objectsDir,
          );
          if (size !== (h.size ?? 0))
            throw new LayerError(
              'E_LAYER_SIZE_MISMATCH',
              id,
              path,
              `declares ${h.size} bytes but holds ${size}`,
            );
          const entry: MeasuredEntry = { path, type: 'file', ...owner, size, sha256 };
          const extra: EntryExtra = content ? { sha1, content } : { sha1 };
          files.set(path, { entry, extra });
          entries.push({ entry, extra });
          break;
        }
        case 'directory':
          entries.push({ entry: { path, type: 'dir', ...owner, size: 0 } });
          item.resume();
          break;
        case 'symlink':
          entries.push({
            entry: {
              path,
              type: 'symlink',
              ...owner,
              mode: 0o777,
              size: 0,
              target: h.linkname ?? '',
            },
          });
          item.resume();
          break;
        case 'link': {
          const target = parseEntryName(h.linkname ?? '');
          const linked = target.ok ? files.get(toImagePath(target.path)) : undefined;
          if (!linked) {
            throw new LayerError(
              'E_LAYER_HARDLINK_ESCAPE',
              id,
              path,
              `is a hard link to ${JSON.stringify(h.linkname)}, which is not an earlier file of the same layer`,
            );
          }
          // A hard link shares its target's inode: same content, mode and owner.
          entries.push({
            entry: { ...linked.entry, path, hardlink: linked.entry.path },
            extra: linked.extra,
          });
          item.resume();
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo':
          throw new LayerError(
            'E_LAYER_SPECIAL_FILE',
            id,
            path,
            `is a ${h.type}; Ingot does not run images with device nodes or FIFOs`,
          );
        default:
          throw new LayerError(
            'E_LAYER_CORRUPT',
            id,
            path,
            `has an unsupported entry type ${String(h.type)}`,
          );
      }
    }
    await feeding;
  } catch (err) {
    extract.destroy();
    await feeding.catch(() => undefined);
    // A blob that does not match its digest is the root cause of whatever the decoder or
    // the tar parser then tripped on: report that.
    if (!isIngotError(err)) await layout.readBlob(id, descriptor.size, descriptor.size);
    throw asLayerError(err, id);
  } finally {
    if (copyFd !== null) closeSync(copyFd);
  }

  const actual = `sha256:${diffHash.digest('hex')}`;
  if (actual !== diffId) {
    throw new LayerError(
      'E_LAYER_DIFF_ID',
      id,
      '',
      `uncompressed content hashes to ${actual}, but the config's diff_id says ${diffId}`,
    );
  }
  return { changes: { whiteouts, opaques, entries }, uncompressedBytes: uncompressed };
}

async function hashEntry(
  stream: AsyncIterable<unknown>,
  capture: boolean,
  objectsDir?: string,
): Promise<{ size: number; sha256: string; sha1: string; content?: Uint8Array }> {
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

function paxNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
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
