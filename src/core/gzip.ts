/**
 * Gzip members (RFC 1952) assembled from raw deflate runs (RFC 1951). Each run is produced
 * on its own and ends with a sync flush, which leaves the stream at a byte boundary with no
 * final block, so runs concatenate into one valid deflate stream; an empty final block ends
 * it. This lets one member mix deflated runs and stored (incompressible) runs.
 *
 * The header is fixed: no name, mtime 0, XFL 0, OS 255 ("unknown", as Go writes), so the
 * same runs give the same member on every platform.
 */
export const GZIP_HEADER = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255);

/** BFINAL=1, fixed Huffman, end-of-block: the shortest final block (RFC 1951 §3.2.6). */
export const EMPTY_FINAL_BLOCK = Uint8Array.of(0x03, 0x00);

export function gzipTrailer(crc32: number, length: number): Uint8Array {
  const t = new Uint8Array(8);
  const view = new DataView(t.buffer);
  view.setUint32(0, crc32 >>> 0, true);
  view.setUint32(4, length % 2 ** 32, true);
  return t;
}

/** A stretch of a segment and whether to deflate it or store it. */
export interface Run {
  readonly start: number;
  readonly end: number;
  readonly store: boolean;
}

/** Runs too short to be worth a block of their own are deflated with their neighbours. */
export const MIN_STORED_RUN = 4096;

/**
 * Merge per-piece decisions into runs: adjacent pieces with the same decision join, and a
 * stored piece shorter than MIN_STORED_RUN is deflated instead. Covers [0, length).
 */
export function planRuns(
  pieces: readonly { start: number; end: number; store: boolean }[],
  length: number,
): Run[] {
  const runs: Run[] = [];
  let pos = 0;
  const push = (start: number, end: number, store: boolean): void => {
    if (end <= start) return;
    const last = runs[runs.length - 1];
    if (last && last.store === store && last.end === start)
      runs[runs.length - 1] = { start: last.start, end, store };
    else runs.push({ start, end, store });
  };
  for (const p of pieces) {
    push(pos, p.start, false);
    push(p.start, p.end, p.store && p.end - p.start >= MIN_STORED_RUN);
    pos = p.end;
  }
  push(pos, length, false);
  return runs;
}
