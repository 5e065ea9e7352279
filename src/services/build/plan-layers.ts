import { applyLayer } from '../../core/apply-layer.js';
import {
  measuredFromHeader,
  planLayer,
  planMountPoints,
  type PlannedEntry,
} from '../../core/layer-plan.js';
import type { RootfsTree } from '../../core/rootfs-tree.js';
import { STANDARD_MOUNT_POINTS } from '../../core/runtime/oci-spec.js';
import { INIT_MOUNT_POINT } from '../../core/runtime/init.js';
import type { Baseline } from '../../domain/baseline.js';
import type { FileExtra, MeasuredEntry } from '../../domain/measurement.js';
import type { SourceListing } from '../../domain/source.js';

/** Layers an image may have: overlayfs-based runtimes refuse deeper stacks (~128). */
const MAX_IMAGE_LAYERS = 120;

/** The build's own layers, planned in order, before any content is read. */
export interface LayerPlans {
  readonly plans: readonly (readonly PlannedEntry[])[];
  /** Per plan, its entries as put into the tree: each is settled with its digests once read. */
  readonly planned: readonly (readonly MeasuredEntry[])[];
  /** Per plan, how the image's history names it ("src → /dest"). */
  readonly origins: readonly string[];
  /** Per plan, what progress names it by. */
  readonly sources: readonly string[];
}

/**
 * Plan the baseline's layers against what lies below, in order, then the mount points of
 * the runtime contract against all of them. `shape` (the base's rootfs) becomes the
 * flattened rootfs, with every planned file still to be settled with its digests.
 */
export function planLayers(
  baseline: Baseline,
  listings: readonly SourceListing[],
  shape: RootfsTree<FileExtra>,
  sourceDateEpoch: number,
): LayerPlans {
  const plans: PlannedEntry[][] = [];
  const planned: MeasuredEntry[][] = [];
  baseline.layers.forEach((spec, i) => {
    const plan = planLayer(spec, listings[i]!, shape, sourceDateEpoch);
    plans.push(plan);
    planned.push(applyPlanned(shape, plan));
  });
  const origins = baseline.layers.map((l) => `${l.source} → ${l.destination}`);
  const sources = baseline.layers.map((l) => l.source);
  const mounts = planMountPoints(
    [
      ...STANDARD_MOUNT_POINTS,
      ...baseline.runtime.tmpfs.map((m) => m.path),
      ...baseline.runtime.volumes.map((m) => m.path),
      ...(baseline.runtime.init ? [INIT_MOUNT_POINT] : []),
    ],
    shape,
    sourceDateEpoch,
    new Set(baseline.runtime.tmpfs.map((m) => m.path)),
  );
  if (mounts.length > 0) {
    plans.push(mounts);
    planned.push(applyPlanned(shape, mounts));
    origins.push('mount points of the runtime contract');
    sources.push('(mount points)');
  }
  return { plans, planned, origins, sources };
}

/**
 * How many OCI layers each planned layer may be cut into. Runtimes stack at most about 128
 * layers: the base's come first, the rest is shared.
 */
export function maxPartsPerLayer(baseLayers: number, plannedLayers: number): number {
  return Math.max(
    1,
    Math.floor((MAX_IMAGE_LAYERS - baseLayers - plannedLayers) / plannedLayers) + 1,
  );
}

/**
 * Put a planned layer's entries into the tree (planLayer checked them against it) and
 * return them, so that each can be settled with its digests once read.
 */
function applyPlanned(tree: RootfsTree<FileExtra>, plan: readonly PlannedEntry[]): MeasuredEntry[] {
  const entries = plan.map((p) => measuredFromHeader(p.header));
  applyLayer(tree, { whiteouts: [], opaques: [], entries: entries.map((entry) => ({ entry })) });
  return entries;
}
