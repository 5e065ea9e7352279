import { digestOf, type Digest } from '../../domain/digest.js';
import { canonicalJson } from '../canonical-json.js';

export interface SourceTreeLayer {
  readonly source: string;
  readonly destination: string;
  /** Image path, type, and the file's sha256 or the link's target. */
  readonly entries: readonly {
    readonly name: string;
    readonly type: string;
    readonly content: string | null;
  }[];
}

/**
 * The source tree digest of the provenance: SHA-256 of the canonical JSON of every layer's
 * source, destination and entries (names, types, content digests, link targets). It binds
 * what was read from disk, independent of modes and owners (which the baseline decides), so
 * a rebuild from another checkout can be compared input by input.
 */
export function sourceTreeDigest(layers: readonly SourceTreeLayer[]): Digest {
  const doc = layers.map((l) => ({
    source: l.source,
    destination: l.destination,
    entries: l.entries.map((e) => [e.name, e.type, e.content]),
  }));
  return digestOf(canonicalJson(doc));
}
