import { join } from 'node:path';
import { applyLayer } from '../../core/apply-layer.js';
import { RootfsTree } from '../../core/rootfs-tree.js';
import { LayerError } from '../../domain/build-errors.js';
import type { DroppedEntry, FileExtra } from '../../domain/measurement.js';
import type { OpenedBase } from '../../ports/base-image.js';
import type { Store, StoreTransaction } from '../../ports/store.js';
import type { BuiltLayer, Progress } from './types.js';

/**
 * The base's layers: read (verified), measured, and copied into the store if it lacks
 * them. Returns the rootfs they flatten to, which the build's own layers are planned on,
 * and the device nodes under /dev that the layers carried and the rootfs leaves out.
 */
export async function readBaseLayers(
  store: Store,
  tx: StoreTransaction,
  base: OpenedBase | null,
  progress: Progress,
): Promise<{ shape: RootfsTree<FileExtra>; layers: BuiltLayer[]; dropped: DroppedEntry[] }> {
  const shape = new RootfsTree<FileExtra>();
  const layers: BuiltLayer[] = [];
  const dropped: DroppedEntry[] = [];
  const count = base?.manifest.layers.length ?? 0;
  for (let i = 0; base && i < count; i++) {
    const descriptor = base.manifest.layers[i]!;
    const copyTo = (await store.hasBlob(descriptor.digest))
      ? null
      : join(tx.stagingDir, `base-${i}`);
    const read = await base.readLayer(i, {
      copyTo,
      onBytes: (done) =>
        progress({ phase: 'base', layer: i + 1, layers: count, done, total: descriptor.size }),
    });
    if (copyTo) tx.adoptFile(copyTo, descriptor.digest, descriptor.size);
    dropped.push(...read.dropped);
    const problem = applyLayer(shape, read.changes);
    if (problem)
      throw new LayerError(
        'E_LAYER_THROUGH_SYMLINK',
        descriptor.digest,
        problem.entry,
        `would be written through ${problem.path}, which is ${problem.problem === 'parent-is-symlink' ? 'a symlink' : 'a file'}`,
      );
    layers.push({
      descriptor: {
        mediaType: descriptor.mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
      },
      diffId: base.config.rootfs.diff_ids[i]!,
      origin: 'base',
      reusedBytes: 0,
      rawBytes: read.uncompressedBytes,
    });
  }
  return { shape, layers, dropped };
}
