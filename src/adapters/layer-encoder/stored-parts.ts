import type { PartRange } from '../../core/layer-parts.js';
import { SourceError } from '../../domain/build-errors.js';
import type { Digest } from '../../domain/digest.js';
import type { SourceFile } from '../../domain/source.js';
import type { Hashed } from './hash-pass.js';
import type { LayerJob, NewPart } from './layer-job.js';
import { fileCount, partKey } from './part-key.js';
import type { SegmentCache, StoredPart } from './segment-cache.js';

/** Per part of a layer: the stored part to use as it is (or null), and its cache key. */
export interface StoredLookup {
  readonly found: (StoredPart | null)[];
  readonly keys: (string | undefined)[];
}

export function nothingStored(ranges: readonly PartRange[]): StoredLookup {
  return { found: ranges.map(() => null), keys: [] };
}

/**
 * The parts an earlier build stored, looked up by key (their headers and file digests). A
 * part is used only if its sha1 list is whole and its blob is still in the store; its
 * files' digests are then known without encoding them.
 */
export function findStoredParts(
  cache: SegmentCache,
  job: LayerJob,
  ranges: readonly PartRange[],
  hashed: readonly (Hashed | undefined)[],
  blobExists: (digest: Digest) => boolean,
): StoredLookup {
  const { entries } = job.request;
  const { codecId } = job.codec;
  const lookup = nothingStored(ranges);
  const sha256Of = (i: number) => hashed[i]?.sha256;
  ranges.forEach((r, i) => {
    const part = cache.part((lookup.keys[i] = partKey(codecId, entries, r, sha256Of)));
    if (!part || part.sha1s.length !== 40 * fileCount(entries, r) || !blobExists(part.digest))
      return;
    lookup.found[i] = part;
    let k = 0;
    for (let e = r.start; e < r.end; e++) {
      if (entries[e]!.header.type !== 'file') continue;
      job.files[e] = { sha256: sha256Of(e)!, sha1: part.sha1s.slice(40 * k, 40 * ++k) };
    }
  });
  return lookup;
}

/**
 * Files read twice (hashed first, encoded second) must have read the same both times. A
 * remembered digest the bytes contradict was stale (the file changed and its stat did not
 * show it); the same file may sit in a part reused on that digest, so the build fails,
 * having forgotten the digest (`forget`) so that the next build reads the file.
 */
export function checkReadTwice(
  job: LayerJob,
  ranges: readonly PartRange[],
  made: ReadonlyMap<number, NewPart>,
  first: readonly (Hashed | undefined)[],
  forget: (file: SourceFile) => void,
): void {
  for (const i of made.keys())
    for (let e = ranges[i]!.start; e < ranges[i]!.end; e++) {
      const before = first[e];
      if (before === undefined || job.files[e]?.sha256 === before.sha256) continue;
      const file = job.request.entries[e]!.file!;
      if (before.remembered) forget(file);
      throw new SourceError(
        'E_SOURCE_CHANGED',
        file.abs,
        before.remembered
          ? 'changed without its stat showing it (mtime, ctime and size as an earlier build saw them); its remembered digest is now forgotten: run the build again, or build with --no-cache'
          : 'changed while the build was reading it; run the build again once the sources are settled',
      );
    }
}
