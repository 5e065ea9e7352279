import { unitHash, type StreamEntry } from './segments.js';
import { paddingFor } from './tar/header.js';

/**
 * A baseline layer becomes one or more OCI layers ("parts"), each a complete tar stream of
 * consecutive entries. Splitting is what lets a rebuild with one file changed write, hash
 * and ship one part instead of the whole layer: unchanged parts keep their digests, so the
 * store, every registry and every host already hold them.
 *
 * The cuts must stay where they were when a file changes, so whether a part ends after an
 * entry depends on that entry alone, as for segments (segments.ts): its name's hash against
 * its share of the target. The same hash is used, so a part cut is also a segment cut and
 * segments cached from a build before a cut moved are still found. Parts never split a
 * file (a tar entry cannot span two layers), so a huge file makes a part of its own.
 *
 * `min` keeps small layers whole: a layer below it is always one part.
 */
export interface PartOptions {
  readonly min: number;
  readonly target: number;
  /** Past this many bytes a part ends after the next entry, whatever the hash says. */
  readonly max: number;
  /** At most this many parts: the target doubles until the layer fits. */
  readonly maxParts: number;
}

export const DEFAULT_PARTS: PartOptions = {
  min: 8 * 1024 * 1024,
  target: 24 * 1024 * 1024,
  max: 96 * 1024 * 1024,
  maxParts: 48,
};

/** Entries [start, end) of one part. */
export interface PartRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Bytes of the stream an entry occupies (header, data, padding): the quantity both
 * planners share.
 */
export function entryBytes(e: StreamEntry): number {
  return e.headerLength + e.size + paddingFor(e.size);
}

export function planParts(
  entries: readonly StreamEntry[],
  options: PartOptions = DEFAULT_PARTS,
): PartRange[] {
  const total = entries.reduce((n, e) => n + entryBytes(e), 0);
  // Scaled by powers of two only, so the cuts of a layer stay put unless its size crosses
  // one; and a cut at twice the target is also a cut at the target (hash < s/2t ⇒ hash < s/t).
  // Cuts fall by hash, so a scale can still give too many parts: then the next one is tried
  // (at a scale where even `min` exceeds the layer, there is one part).
  let scale = 1;
  while (total / (options.target * scale) > options.maxParts) scale *= 2;
  for (;;) {
    const parts = cut(entries, options, scale);
    if (parts.length <= Math.max(1, options.maxParts)) return parts;
    scale *= 2;
  }
}

function cut(entries: readonly StreamEntry[], options: PartOptions, scale: number): PartRange[] {
  const target = options.target * scale;
  const min = options.min * scale;
  const max = options.max * scale;
  const parts: PartRange[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const own = entryBytes(e);
    bytes += own;
    const last = i === entries.length - 1;
    if (!last && bytes >= min && (unitHash(e.name) < own / target || bytes >= max)) {
      parts.push({ start, end: i + 1 });
      start = i + 1;
      bytes = 0;
    }
  }
  if (start < entries.length || parts.length === 0) parts.push({ start, end: entries.length });
  return parts;
}
