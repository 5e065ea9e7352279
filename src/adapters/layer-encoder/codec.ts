import { constants, crc32, deflateRawSync, gunzipSync } from 'node:zlib';
import { EMPTY_FINAL_BLOCK, GZIP_HEADER, gzipTrailer, type Run } from '../../core/gzip.js';
import type { LayerCompression } from '../../domain/media-types.js';
import type * as ZstdModule from '../shared/zstd.js';

export const DEFAULT_LEVEL: Record<LayerCompression, number> = { gzip: 1, zstd: 3, none: 0 };
export const LEVEL_RANGE: Record<LayerCompression, readonly [number, number]> = {
  gzip: [1, 9],
  zstd: [1, 19],
  none: [0, 0],
};

/** Bumped whenever the way segments are cut into runs changes. */
const GZIP_RULES = 'runs1';

type Zstd = typeof ZstdModule;
let zstdModule: Zstd | null = null;
/** zstd is a native addon: loaded only by builds that ask for zstd. */
async function loadZstd(): Promise<Zstd> {
  zstdModule ??= await import('../shared/zstd.js');
  return zstdModule;
}

export async function prepareCodec(compression: LayerCompression): Promise<void> {
  if (compression === 'zstd') await loadZstd();
}

/**
 * Which compressor build, and which encoding rules, produce the bytes. A cached member is
 * only reused under the same id, so a cache can never make the output differ from what a
 * fresh build on this machine would write.
 */
export function codecId(compression: LayerCompression, level: number): string {
  switch (compression) {
    case 'gzip':
      return `gzip-${level}-${GZIP_RULES}-zlib${process.versions.zlib}`;
    case 'zstd':
      if (!zstdModule) throw new Error('zstd codec not loaded: call prepareCodec first');
      return `zstd-${level}-${zstdModule.zstdBinding.versionString()}`;
    case 'none':
      return 'none';
  }
}

/** codecId, or null while the codec still has to load (zstd, before prepareCodec). */
export function codecIdIfReady(compression: LayerCompression, level: number): string | null {
  return compression === 'zstd' && !zstdModule ? null : codecId(compression, level);
}

/**
 * One gzip member from runs: deflated runs at `level`, stored runs as stored blocks (fast,
 * and no bigger than deflating data that does not compress).
 */
export function gzipMember(raw: Uint8Array, runs: readonly Run[], level: number): Buffer {
  const parts: Uint8Array[] = [GZIP_HEADER];
  for (const run of runs) {
    parts.push(
      deflateRawSync(raw.subarray(run.start, run.end), {
        level: run.store ? 0 : level,
        finishFlush: constants.Z_SYNC_FLUSH,
      }),
    );
  }
  parts.push(EMPTY_FINAL_BLOCK, gzipTrailer(crc32(raw), raw.length));
  return Buffer.concat(parts);
}

/** A member or frame decompressed, refused past `limit` bytes (so never a bomb). */
export function decodeMember(
  compression: LayerCompression,
  bytes: Uint8Array,
  limit: number,
): Buffer {
  if (compression === 'gzip') {
    const out = gunzipSync(bytes, { maxOutputLength: Math.max(1, limit) });
    if (out.length > limit) throw new Error('member larger than its segment');
    return out;
  }
  if (compression !== 'zstd') throw new Error(`no members in ${compression} layers`);
  if (!zstdModule) throw new Error('zstd codec not loaded: call prepareCodec first');
  // Ingot's frames state their size (zstdFrame): read it before zstd allocates for it.
  const size = zstdContentSize(bytes);
  if (size === null || size > limit) throw new Error('frame size unknown or too large');
  return zstdModule.zstd.decompress(bytes);
}

/** Frame_Content_Size from a zstd frame header (RFC 8878 §3.1.1.1), or null if absent. */
function zstdContentSize(b: Uint8Array): number | null {
  if (b.length < 6 || b[0] !== 0x28 || b[1] !== 0xb5 || b[2] !== 0x2f || b[3] !== 0xfd) return null;
  const descriptor = b[4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][descriptor & 3]!;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return null;
  const at = 5 + (singleSegment ? 0 : 1) + dictBytes;
  if (b.length < at + fcsBytes) return null;
  let size = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + b[at + i]!;
  return fcsBytes === 2 ? size + 256 : size;
}

/** One zstd frame: checksummed, single-threaded (so the same on every machine). */
export function zstdFrame(raw: Uint8Array, level: number): Buffer {
  if (!zstdModule) throw new Error('zstd codec not loaded: call prepareCodec first');
  return zstdModule.zstd.compress(raw, {
    compressionLevel: level,
    checksumFlag: true,
    contentSizeFlag: true,
    nbWorkers: 0,
  });
}
