import { measuredFromHeader } from '../../core/layer-plan.js';
import type { RootfsTree } from '../../core/rootfs-tree.js';
import type { FileExtra } from '../../domain/measurement.js';
import type { EncodedLayer, EncodedPart, LayerEncoder } from '../../ports/layer-encoder.js';
import type { StoreTransaction } from '../../ports/store.js';
import { maxPartsPerLayer, type LayerPlans } from './plan-layers.js';
import type { BuildRequest, BuiltLayer, Progress } from './types.js';

/**
 * Encode each planned layer into its parts, appending them to `layers` (after the base's)
 * and each layer to `encoded` as soon as it exists (the caller waits on its staged files
 * if the build fails). Every planned file of `shape` is settled with its digests. Returns
 * where in `layers` each part went.
 */
export async function encodeLayers(
  encoder: LayerEncoder,
  request: BuildRequest,
  tx: StoreTransaction,
  planned: LayerPlans,
  shape: RootfsTree<FileExtra>,
  layers: BuiltLayer[],
  encoded: EncodedLayer[],
  progress: Progress,
): Promise<Map<EncodedPart, number>> {
  const { plans, origins, sources } = planned;
  const layerOf = new Map<EncodedPart, number>();
  // `layers` holds only the base's so far.
  const maxParts = maxPartsPerLayer(layers.length, plans.length);
  for (const [i, plan] of plans.entries()) {
    const source = sources[i]!;
    const layer = await encoder.encode({
      entries: plan,
      maxParts,
      compression: request.compression,
      ...(request.level !== undefined && { level: request.level }),
      stagingDir: tx.stagingDir,
      onProgress: (done, total, step) =>
        progress({ phase: 'layer', layer: i + 1, layers: plans.length, source, step, done, total }),
    });
    encoded.push(layer);
    for (const [k, part] of layer.parts.entries()) {
      const n = layer.parts.length;
      layerOf.set(part, layers.length);
      layers.push({
        descriptor: part.descriptor,
        diffId: part.diffId,
        origin: n > 1 ? `${origins[i]!} (part ${k + 1}/${n})` : origins[i]!,
        reusedBytes: part.reusedBytes,
        rawBytes: part.rawBytes,
      });
    }
    plan.forEach((p, k) => {
      const digests = layer.files[k];
      if (!digests) return; // folders, symlinks: planned as they are
      const entry = measuredFromHeader(p.header, digests.sha256);
      const content = layer.captured.get(entry.path);
      const extra = content ? { sha1: digests.sha1, content } : { sha1: digests.sha1 };
      shape.settle(planned.planned[i]![k]!, entry, extra);
    });
  }
  return layerOf;
}

/**
 * Every part confirmed (stored ones re-hashed, new ones on disk) and adopted into the
 * transaction: run before anything is signed, so that a signature is never made over
 * layers that might not be committed.
 */
export async function adoptParts(
  encoded: readonly EncodedLayer[],
  tx: StoreTransaction,
  layers: BuiltLayer[],
  layerOf: ReadonlyMap<EncodedPart, number>,
): Promise<void> {
  for (const part of encoded.flatMap((l) => l.parts)) {
    const path = await part.staged;
    if (path === null) continue;
    tx.adoptFile(path, part.descriptor.digest, part.descriptor.size);
    // A stored part whose blob proved damaged was encoded afresh: nothing was reused.
    const at = layerOf.get(part)!;
    if (part.fromStore) layers[at] = { ...layers[at]!, reusedBytes: 0 };
  }
}
