import type { PartRange } from '../../core/layer-parts.js';
import type { StreamEntry } from '../../core/segments.js';
import { layerMediaType } from '../../domain/media-types.js';
import type { EncodedLayer, EncodedPart } from '../../ports/layer-encoder.js';
import { awaitedLater } from '../shared/later.js';
import { rawBytesOf, type LayerJob, type NewPart, type Written } from './layer-job.js';
import { partKey } from './part-key.js';
import type { StoredPart } from './segment-cache.js';
import type { StoredLookup } from './stored-parts.js';

/**
 * The encoded layer, its parts in stream order (stored ones as they are, the others as the
 * pipeline made them), and what `remember` will record of it once committed. A stored
 * part's `staged` settles once `confirm` has re-hashed (or re-made) its blob.
 */
export function assembleLayer(
  job: LayerJob,
  stream: readonly StreamEntry[],
  ranges: readonly PartRange[],
  stored: StoredLookup,
  made: ReadonlyMap<number, NewPart>,
  readSince: number,
  confirm: (part: StoredPart, range: PartRange) => Promise<string | null>,
): { layer: EncodedLayer; record: Written } {
  const { entries, compression } = job.request;
  const { files } = job;
  const parts: EncodedPart[] = [];
  const record: Written = { members: [], parts: [], read: [] };
  entries.forEach((e, i) => {
    const sha256 = files[i]?.sha256;
    if (e.file && e.header.size > 0 && sha256)
      record.read.push({ file: e.file, sha256, readSince });
  });
  for (const [i, range] of ranges.entries()) {
    const key =
      stored.keys[i] ?? partKey(job.codec.codecId, entries, range, (e) => files[e]?.sha256);
    const found = stored.found[i];
    if (found) {
      const rawBytes = rawBytesOf(stream, range);
      parts.push({
        descriptor: {
          mediaType: layerMediaType[compression],
          digest: found.digest,
          size: found.size,
        },
        diffId: found.diffId,
        staged: awaitedLater(confirm(found, range)),
        rawBytes,
        reusedBytes: rawBytes,
        fromStore: true,
      });
      record.parts.push([key, found]);
      continue;
    }
    const { part, members } = made.get(i)!;
    parts.push(part);
    const { digest, size } = part.descriptor;
    let sha1s = '';
    for (let e = range.start; e < range.end; e++)
      if (entries[e]!.header.type === 'file') sha1s += files[e]!.sha1;
    record.parts.push([key, { digest, size, diffId: part.diffId, sha1s }]);
    for (const [memberKey, loc] of members)
      record.members.push([memberKey, { ...loc, blob: digest }]);
  }
  const layer: EncodedLayer = {
    parts,
    files,
    captured: job.captured,
    reusedBytes: parts.reduce((n, p) => n + p.reusedBytes, 0),
    rawBytes: parts.reduce((n, p) => n + p.rawBytes, 0),
  };
  return { layer, record };
}
