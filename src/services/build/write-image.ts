import { canonicalJsonBytes } from '../../core/canonical-json.js';
import { buildImageConfig, buildImageManifest } from '../../core/image.js';
import { Annotation, MediaType } from '../../domain/media-types.js';
import type { Descriptor } from '../../domain/oci.js';
import type { StoreTransaction } from '../../ports/store.js';
import type { BaseRef } from '../../domain/baseline.js';
import type { Digest } from '../../domain/digest.js';
import { baseNames } from './base-names.js';
import type { BuildInputs } from './read-inputs.js';
import type { BuiltLayer } from './types.js';

function baseNamed(from: BaseRef, built: Digest): Record<string, string> {
  const { annotation } = baseNames(from, built);
  return annotation === undefined ? {} : { [Annotation.baseName]: annotation };
}

/** The image's config and manifest, staged: the manifest's digest is the artifact's name. */
export async function writeImage(
  tx: StoreTransaction,
  inputs: BuildInputs,
  layers: readonly BuiltLayer[],
  baseLayers: number,
): Promise<{ config: Descriptor; image: Descriptor }> {
  const { baseline, base, created } = inputs;
  const configDoc = buildImageConfig({
    baseline,
    base: base?.config ?? null,
    platform: inputs.platform,
    created,
    diffIds: layers.map((l) => l.diffId),
    layerNotes: layers.slice(baseLayers).map((l) => `ingot: ${l.origin}`),
  });
  const config = await tx.putBlob(canonicalJsonBytes(configDoc), MediaType.imageConfig);
  const annotations: Record<string, string> = {
    [Annotation.created]: created,
    [Annotation.title]: baseline.name,
    [Annotation.version]: baseline.version,
    ...(base && { [Annotation.baseDigest]: base.descriptor.digest }),
    ...(base && baseNamed(baseline.from, base.descriptor.digest)),
  };
  const manifestBytes = canonicalJsonBytes(
    buildImageManifest(
      config,
      layers.map((l) => l.descriptor),
      annotations,
    ),
  );
  const image = await tx.putBlob(manifestBytes, MediaType.imageManifest);
  return { config, image };
}
