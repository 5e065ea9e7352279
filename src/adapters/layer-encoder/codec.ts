import { gzipSync } from 'node:zlib';
import { normalizeGzipMember } from '../../core/gzip.js';
import type { LayerCompression } from '../../domain/media-types.js';
import { zstd, zstdBinding } from '../shared/zstd.js';

export const DEFAULT_LEVEL: Record<LayerCompression, number> = { gzip: 1, zstd: 3, none: 0 };
export const LEVEL_RANGE: Record<LayerCompression, readonly [number, number]> = {
  gzip: [1, 9],
  zstd: [1, 19],
  none: [0, 0],
};

/**
 * Which compressor build produces the bytes. Two builds of zlib (or zstd) may compress the
 * same input differently; a cached member is only reused under the same codec id, so that
 * a cache can never make the output differ from a fresh build on the same machine.
 */
export function codecId(compression: LayerCompression, level: number): string {
  switch (compression) {
    case 'gzip':
      return `gzip-${level}-zlib${process.versions.zlib}`;
    case 'zstd':
      return `zstd-${level}-${zstdBinding.versionString()}`;
    case 'none':
      return 'none';
  }
}

/** One independent member/frame: concatenations of them are valid streams of their codec. */
export function compressSegment(
  raw: Uint8Array,
  compression: LayerCompression,
  level: number,
): Uint8Array {
  switch (compression) {
    case 'gzip':
      return normalizeGzipMember(gzipSync(raw, { level }));
    case 'zstd':
      // Checksum on, so a damaged layer is caught by any decoder; single-threaded, so the
      // frame is the same on every machine.
      return zstd.compress(raw, {
        compressionLevel: level,
        checksumFlag: true,
        contentSizeFlag: true,
        nbWorkers: 0,
      });
    case 'none':
      return raw;
  }
}
