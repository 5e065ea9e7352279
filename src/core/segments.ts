import { END_OF_ARCHIVE, paddingFor } from './tar/header.js';

/**
 * A layer's tar stream is cut into segments that are compressed independently, as separate
 * gzip members (RFC 1952 §2.2: a gzip file is a series of members) or zstd frames (RFC 8878
 * §3: a series of frames). That gives two things: both cores compress at once, and a segment
 * whose bytes did not change can reuse its compressed form from an earlier build.
 *
 * Reuse only works if the cuts stay where they were when one file changes. So whether the
 * stream is cut after an entry depends on that entry alone: its name's hash against its
 * share of the target size. Cutting after an entry of size s happens with probability
 * s / target, so segments average `target` bytes whatever the file sizes are, and a change
 * moves at most the cuts next to the changed entry. Files larger than a chunk are cut at
 * fixed offsets of their own data, so that a big file alone still keeps both cores busy.
 */
export interface SegmentOptions {
  readonly target: number;
  readonly chunk: number;
  /** Hard cap, so a run of unlucky hashes cannot make one huge segment. */
  readonly max: number;
}

export const DEFAULT_SEGMENTS: SegmentOptions = {
  target: 2 * 1024 * 1024,
  chunk: 2 * 1024 * 1024,
  max: 8 * 1024 * 1024,
};

export interface StreamEntry {
  readonly name: string;
  readonly headerLength: number;
  readonly size: number;
}

export interface Segment {
  readonly index: number;
  /** Byte range [start, end) of the uncompressed tar stream. */
  readonly start: number;
  readonly end: number;
}

export interface StreamLayout {
  /** Offset of each entry's first header byte. */
  readonly offsets: readonly number[];
  /** Bytes of the whole stream, end-of-archive blocks included. */
  readonly total: number;
  readonly segments: readonly Segment[];
}

export function planSegments(
  entries: readonly StreamEntry[],
  options: SegmentOptions = DEFAULT_SEGMENTS,
): StreamLayout {
  const offsets: number[] = [];
  const segments: Segment[] = [];
  let segStart = 0;
  const cut = (at: number): void => {
    if (at > segStart) segments.push({ index: segments.length, start: segStart, end: at });
    segStart = at;
  };

  let pos = 0;
  for (const e of entries) {
    offsets.push(pos);
    const dataStart = pos + e.headerLength;
    const end = dataStart + e.size + paddingFor(e.size);
    if (e.size > options.chunk) {
      for (let k = options.chunk; k < e.size; k += options.chunk) cut(dataStart + k);
      cut(end);
    } else if (unitHash(e.name) < (end - pos) / options.target || end - segStart >= options.max) {
      cut(end);
    }
    pos = end;
  }
  const total = pos + END_OF_ARCHIVE;
  cut(total);
  return { offsets, total, segments };
}

/**
 * A name's hash as a number in [0, 1): FNV-1a over the UTF-16 code units, then a final
 * avalanche (murmur3's fmix32) so that similar names land far apart. Not cryptographic, and
 * it needs not be: it only spreads cuts. It is part of the layer format (changing it moves
 * cuts and so changes compressed bytes), so it must never change within a codec id.
 */
export function unitHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}
