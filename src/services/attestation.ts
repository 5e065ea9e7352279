import { MAX_BUNDLE_BYTES } from '../domain/attestation.js';
import type { Digest } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
import { MediaType } from '../domain/media-types.js';
import type { Store } from '../ports/store.js';
import { readManifest } from './inspect.js';

/**
 * The Sigstore bundles attached to an image, as stored (their blobs verified against their
 * digests, nothing else): `ingot attestation` hands them to other people's verifiers.
 */
export async function readAttestations(
  store: Store,
  ref: string,
): Promise<{ digest: Digest; attachment: Digest; bundle: Buffer }[]> {
  const image = await store.resolve(ref);
  const out: { digest: Digest; attachment: Digest; bundle: Buffer }[] = [];
  for (const d of await store.referrers(image.digest)) {
    if (d.artifactType !== MediaType.sigstoreBundle) continue;
    const manifest = await readManifest(store, d);
    const blob = manifest.layers[0];
    // The index entry's annotations are a hint; the manifest itself must say what it is.
    if (
      !blob ||
      manifest.subject?.digest !== image.digest ||
      manifest.artifactType !== MediaType.sigstoreBundle
    )
      continue;
    const bundle = await store.readBlob(blob.digest, MAX_BUNDLE_BYTES, blob.size);
    out.push({ digest: image.digest, attachment: d.digest, bundle });
  }
  if (out.length === 0)
    throw new IngotError(
      'E_NO_ATTESTATION',
      `image ${image.digest} has no signed attestation (build it with --key to sign it)`,
    );
  return out;
}
