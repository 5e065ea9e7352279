import type { MeasuredEntry } from '../domain/measurement.js';
import type { ApplyProblem, RootfsTree } from './rootfs-tree.js';

/** One layer's effect on the rootfs, as read from its tar stream. */
export interface LayerChanges<T = unknown> {
  /** Paths removed from the layers below (".wh.<name>"). */
  readonly whiteouts: readonly string[];
  /** Directories whose lower children are hidden (".wh..wh..opq"). */
  readonly opaques: readonly string[];
  /** Additions and modifications, in archive order. */
  readonly entries: readonly { readonly entry: MeasuredEntry; readonly extra?: T }[];
}

/**
 * Apply a layer on top of the tree: whiteouts first (they hide only what lies below, never
 * what the same layer adds — image-spec layer.md), then entries in archive order.
 * Returns the first entry that would have to pass through a symlink or a file, or null.
 */
export function applyLayer<T>(
  tree: RootfsTree<T>,
  changes: LayerChanges<T>,
): { path: string; entry: string; problem: ApplyProblem } | null {
  for (const dir of changes.opaques) tree.removeChildren(dir);
  for (const path of changes.whiteouts) tree.remove(path);
  for (const { entry, extra } of changes.entries) {
    const problem = tree.put(entry, extra);
    if (problem) return { ...problem, entry: entry.path };
  }
  return null;
}
