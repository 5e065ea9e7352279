import { decodeBundle } from '../core/attest/bundle.js';
import { MAX_BUNDLE_BYTES } from '../domain/attestation.js';
import type { Digest } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
import { MediaType } from '../domain/media-types.js';
import type { Store } from '../ports/store.js';
import { readManifest } from './inspect.js';

export interface StoredBundle {
  /** The image the bundle is attached to. */
  readonly digest: Digest;
  /** The attachment manifest that carries it. */
  readonly attachment: Digest;
  readonly bundle: Buffer;
  /**
   * The key id the bundle names (its verification material's hint): unauthenticated, so a
   * way to find a bundle, never proof of who signed it; null when the bundle does not decode.
   */
  readonly keyHint: string | null;
}

/** The Sigstore bundles attached to an image (their blobs verified against their digests). */
export async function storedBundles(store: Store, image: Digest): Promise<StoredBundle[]> {
  const out: StoredBundle[] = [];
  for (const d of await store.referrers(image)) {
    if (d.artifactType !== MediaType.sigstoreBundle) continue;
    const manifest = await readManifest(store, d);
    const blob = manifest.layers[0];
    // The index entry's annotations are a hint; the manifest itself must say what it is.
    if (
      !blob ||
      manifest.subject?.digest !== image ||
      manifest.artifactType !== MediaType.sigstoreBundle
    )
      continue;
    const bundle = await store.readBlob(blob.digest, MAX_BUNDLE_BYTES, blob.size);
    let keyHint: string | null;
    try {
      keyHint = decodeBundle(bundle).keyHint;
    } catch {
      keyHint = null;
    }
    out.push({ digest: image, attachment: d.digest, bundle, keyHint });
  }
  return out;
}

/**
 * The Sigstore bundles attached to an image, as stored (their blobs verified against their
 * digests, nothing else): `ingot attestation` hands them to other people's verifiers.
 */
export async function readAttestations(store: Store, ref: string): Promise<StoredBundle[]> {
  const image = await store.resolve(ref);
  const out = await storedBundles(store, image.digest);
  if (out.length === 0)
    throw new IngotError(
      'E_NO_ATTESTATION',
      `image ${image.digest} has no signed attestation (build it with --key to sign it)`,
    );
  return out;
}
