import { canonicalJson } from '../canonical-json.js';
import { digestHex, type Digest } from '../../domain/digest.js';
import { MediaType } from '../../domain/media-types.js';
import {
  indexSchema,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '../../domain/oci.js';
import { RegistryError } from '../../domain/registry.js';

/**
 * A registry without the referrers API (CNCF Distribution 2.8) keeps an image's referrers
 * in an index at a tag derived from its digest (distribution spec, "Referrers Tag Schema").
 * These functions decide that index's content; fetching and pushing it is the client's.
 */

/** An image has a handful of attachments; an index listing more is not ours to trust. */
export const MAX_REFERRERS = 1024;

/** `sha256:<hex>` → `sha256-<hex>` (the spec truncates longer algorithms; sha256 fits). */
export function referrersTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`;
}

/** The descriptor a referrers list holds for one referrer manifest (spec: artifactType, annotations). */
export function referrerDescriptor(
  manifest: ImageManifest,
  digest: Digest,
  size: number,
): Descriptor {
  const d: Descriptor = {
    mediaType: manifest.mediaType ?? MediaType.imageManifest,
    digest,
    size,
    artifactType: manifest.artifactType ?? manifest.config.mediaType,
  };
  if (manifest.annotations !== undefined && Object.keys(manifest.annotations).length > 0)
    d.annotations = manifest.annotations;
  return d;
}

export function emptyReferrersIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [] };
}

/**
 * Add referrers to a fallback index: an entry with the same digest is replaced in place,
 * others are appended in order. `changed` is false when the index already said all of it,
 * so that a repeated push does not rewrite the tag.
 */
export function mergeReferrers(
  index: ImageIndex | null,
  additions: readonly Descriptor[],
): { readonly index: ImageIndex; readonly changed: boolean } {
  const manifests = [...(index ?? emptyReferrersIndex()).manifests];
  let changed = index === null;
  for (const add of additions) {
    const at = manifests.findIndex((m) => m.digest === add.digest);
    if (at < 0) {
      manifests.push(add);
      changed = true;
    } else if (canonicalJson(manifests[at]) !== canonicalJson(add)) {
      // Canonical: an index read back from a registry has its keys in another order.
      manifests[at] = add;
      changed = true;
    }
  }
  const seen = new Set<string>();
  const unique = manifests.filter((m) => !seen.has(m.digest) && (seen.add(m.digest), true));
  if (unique.length !== manifests.length) changed = true;
  if (unique.length > MAX_REFERRERS)
    throw new RegistryError(
      'E_REGISTRY_TOO_LARGE',
      `more than ${MAX_REFERRERS} referrers for one image`,
    );
  return {
    index: { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: unique },
    changed,
  };
}

/**
 * Read a referrers list (from the API or the fallback tag). The registry wrote it: its
 * shape, media type and length are checked; null when it is not an image index at all
 * (a registry without the API may answer the endpoint with anything).
 */
export function parseReferrersIndex(bytes: Uint8Array): ImageIndex | null {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return null;
  }
  const parsed = indexSchema.safeParse(doc);
  if (!parsed.success) return null;
  if (parsed.data.mediaType !== undefined && parsed.data.mediaType !== MediaType.imageIndex)
    return null;
  if (parsed.data.manifests.length > MAX_REFERRERS)
    throw new RegistryError(
      'E_REGISTRY_TOO_LARGE',
      `a referrers list of ${parsed.data.manifests.length} entries (more than ${MAX_REFERRERS})`,
    );
  return parsed.data;
}

/**
 * On pull, every referrer manifest must name the image it was listed for: anybody who can
 * push a tag can write a fallback index, and an entry pointing at another image's signature
 * would otherwise lend that signature to this one.
 */
export function checkReferrerSubject(
  manifest: ImageManifest,
  manifestDigest: Digest,
  subject: Digest,
): void {
  if (manifest.subject?.digest !== subject)
    throw new RegistryError(
      'E_REGISTRY_REFERRER_SUBJECT',
      `referrer ${manifestDigest} is listed for ${subject} but names ${manifest.subject?.digest ?? 'no subject'}`,
      { referrer: manifestDigest, subject, names: manifest.subject?.digest ?? null },
    );
}
