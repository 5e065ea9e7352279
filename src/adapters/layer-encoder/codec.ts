import { constants, crc32, deflateRawSync } from 'node:zlib';
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
