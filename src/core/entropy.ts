/**
 * Whether bytes look incompressible: Shannon entropy of their byte histogram, in bits per
 * byte. Already-compressed data (archives, images, most media) sits near 8; text, code and
 * executables well below. The build stores incompressible runs instead of deflating them:
 * deflate spends most of its time on such data and saves nothing. The decision depends on
 * the bytes alone, so it is as reproducible as the bytes.
 */
export const INCOMPRESSIBLE_BITS = 7.2;
const SAMPLE = 1024;

/** Entropy of the bytes in bits per byte (0 for empty input). */
export function entropy(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  const counts = new Uint32Array(256);
  for (let i = 0; i < bytes.length; i++) counts[bytes[i]!]!++;
  let h = 0;
  for (let i = 0; i < 256; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    const p = c / bytes.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Judge a run by three samples (start, middle, end) so that the cost stays constant
 * whatever its size; short runs are judged whole.
 */
export function looksIncompressible(run: Uint8Array): boolean {
  if (run.length <= 3 * SAMPLE) return entropy(run) >= INCOMPRESSIBLE_BITS;
  const mid = Math.floor(run.length / 2 - SAMPLE / 2);
  const sample = new Uint8Array(3 * SAMPLE);
  sample.set(run.subarray(0, SAMPLE), 0);
  sample.set(run.subarray(mid, mid + SAMPLE), SAMPLE);
  sample.set(run.subarray(run.length - SAMPLE), 2 * SAMPLE);
  return entropy(sample) >= INCOMPRESSIBLE_BITS;
}
