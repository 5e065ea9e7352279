import {
  mergeReferrers,
  parseReferrersIndex,
  referrerDescriptor,
  referrersTag,
} from '../../core/registry/referrers.js';
import { formatReference } from '../../core/registry/reference.js';
import type { Digest } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import { MediaType } from '../../domain/media-types.js';
import {
  MAX_MANIFEST_BYTES,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '../../domain/oci.js';
import type { RegistryReference } from '../../domain/registry.js';
import type { BlobLocations, Registry } from '../../ports/registry.js';
import type { Store } from '../../ports/store.js';
import { readManifest } from '../inspect.js';
import { allOrNothing, DOCUMENTS, inParallel, PROBES, TRANSFERS } from './in-parallel.js';

export interface PushRequest {
  /** Tag, digest or unique digest prefix in the local store. */
  readonly ref: string;
  /** Where to: a digest in it is refused by the caller (the registry names the content). */
  readonly dest: RegistryReference;
}

export interface PushReport {
  readonly digest: Digest;
  readonly destination: string;
  readonly blobs: {
    /** Sent in full. */
    readonly uploaded: number;
    readonly uploadedBytes: number;
    /** Already in the repository (HEAD): not sent. */
    readonly present: number;
    /** Mounted from another repository of the same registry: not sent. */
    readonly mounted: number;
  };
  readonly attachments: readonly {
    readonly digest: Digest;
    readonly artifactType: string | null;
  }[];
  /** How referrers are found there: the registry's API, or the tag-schema index we keep. */
  readonly referrers:
    | { readonly via: 'api' }
    | { readonly via: 'tag-schema'; readonly tag: string; readonly updated: boolean };
}

export interface PushDeps {
  readonly store: Store;
  readonly registry: Registry;
  /** Where blobs were seen on this registry: mount from there rather than upload. */
  readonly locations: BlobLocations;
}

/**
 * Push an image and every attachment (bundles, measurement, SBOM) to a registry, in the
 * order a registry requires: blobs before the manifests that name them (an attachment's
 * empty `{}` config included; Distribution refuses a manifest whose config is missing),
 * the image before its referrers, the referrers before the fallback index that lists them.
 * A push interrupted anywhere leaves only content-addressed pieces behind, and running it
 * again finishes it: blobs the registry has are not sent again.
 *
 * Round trips in a row are what a push after a small change costs, so every blob's presence
 * is asked at once (a few at a time), the missing ones are sent a few at a time, largest
 * first, and whether the registry has the referrers API is asked while the referrers' own
 * manifests are put.
 */
export async function pushImage(deps: PushDeps, request: PushRequest): Promise<PushReport> {
  const { store, registry } = deps;
  const repo = request.dest.repository;
  const counts = { uploaded: 0, uploadedBytes: 0, present: 0, mounted: 0 };

  const image = await store.resolve(request.ref);
  const digest = image.digest;
  const attached = await store.referrers(digest);
  const manifests = await Promise.all(
    [image, ...attached].map(async (descriptor) => ({
      descriptor,
      manifest: await readManifest(store, descriptor),
    })),
  );
  const blobs = [
    ...new Map(
      manifests.flatMap(({ manifest }) =>
        [manifest.config, ...manifest.layers].map((b) => [b.digest, b] as const),
      ),
    ).values(),
  ];

  const sendBlob = async (blob: Descriptor): Promise<void> => {
    for (const from of deps.locations.repositories(registry.authority, blob.digest)) {
      if (from === repo) continue;
      if (await registry.mountBlob(repo, blob, from)) {
        counts.mounted++;
        return;
      }
    }
    // Streamed from the store's file without re-hashing it here: the registry hashes what
    // it receives against the digest we announce (distribution spec), so a damaged local
    // copy is refused there and never becomes visible under that name.
    await registry.pushBlob(repo, blob, { path: store.blobPath(blob.digest) });
    counts.uploaded++;
    counts.uploadedBytes += blob.size;
  };

  const missing: Descriptor[] = [];
  await inParallel(blobs, PROBES, async (blob) => {
    if (await registry.hasBlob(repo, blob)) counts.present++;
    else missing.push(blob);
  });
  missing.sort((x, y) => y.size - x.size);
  await inParallel(missing, TRANSFERS, sendBlob);

  const put = async (descriptor: Descriptor, manifest: ImageManifest, reference: string) => {
    const bytes = await store.readBlob(descriptor.digest, MAX_MANIFEST_BYTES, descriptor.size);
    await registry.putManifest(repo, reference, manifest.mediaType ?? descriptor.mediaType, bytes);
  };
  const [own, ...others] = manifests;
  await put(image, own!.manifest, request.dest.tag ?? digest);
  // Whether the registry has the referrers API, asked once the image is there (a registry
  // may answer 404, which reads as no API, about a subject it does not hold), and answered
  // while the referrers go up; so is the fallback index as it is now, wanted without the API
  // (one GET wasted with it, one round trip saved without). Read then written, it could lose
  // another client's update in between, as it always could: the tag schema has no locking.
  const tag = referrersTag(digest);
  const [api, current] = await allOrNothing([
    registry.referrers(repo, digest),
    currentFallbackIndex(registry, repo, tag),
    inParallel(others, DOCUMENTS, ({ descriptor, manifest }) =>
      put(descriptor, manifest, descriptor.digest),
    ),
  ]);
  const listed = others.map(({ descriptor, manifest }) =>
    referrerDescriptor(manifest, descriptor.digest, descriptor.size),
  );

  let referrers: PushReport['referrers'];
  if (api !== null) referrers = { via: 'api' };
  else {
    const merged = mergeReferrers(current, listed);
    if (merged.changed) {
      const bytes = Buffer.from(JSON.stringify(merged.index));
      await registry.putManifest(repo, tag, MediaType.imageIndex, bytes);
    }
    referrers = { via: 'tag-schema', tag, updated: merged.changed };
  }

  deps.locations.record(
    registry.authority,
    repo,
    blobs.map((b) => b.digest),
  );
  return {
    digest,
    destination: formatReference({ ...request.dest, digest }),
    blobs: counts,
    attachments: listed.map((d) => ({ digest: d.digest, artifactType: d.artifactType ?? null })),
    referrers,
  };
}

/**
 * The fallback index as it is now, to add to rather than replace: others (cosign, oras)
 * may have listed their referrers there too. A tag holding something that is not an
 * index is replaced, as the spec's clients do.
 */
async function currentFallbackIndex(
  registry: Registry,
  repo: string,
  tag: string,
): Promise<ImageIndex | null> {
  try {
    const fetched = await registry.getManifest(repo, tag);
    return parseReferrersIndex(fetched.bytes);
  } catch (err) {
    if (isIngotError(err) && err.code === 'E_REGISTRY_NOT_FOUND') return null;
    throw err;
  }
}
