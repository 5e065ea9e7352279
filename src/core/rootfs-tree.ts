import type { EntryKind, MeasuredEntry } from '../domain/measurement.js';
import { basename, parentOf, sortInTreeOrder } from './paths.js';

/**
 * The flattened rootfs as layers are applied, in memory: path → entry, plus a children
 * index so that removing a subtree (whiteout, or a directory replaced by a file) does not
 * scan every path. Pure data structure; it never touches a filesystem.
 *
 * `T` is whatever the caller carries along each entry (the SBOM's sha1, captured bytes).
 */
export interface TreeEntry<T = unknown> {
  readonly entry: MeasuredEntry;
  readonly extra?: T;
}

export type ApplyProblem = 'parent-is-symlink' | 'parent-not-dir';

/** Directories that layers imply but never wrote get these attributes (as tar extractors do). */
export const IMPLICIT_DIR = { mode: 0o755, uid: 0, gid: 0 } as const;

export class RootfsTree<T = unknown> {
  private readonly nodes = new Map<string, TreeEntry<T>>();
  private readonly children = new Map<string, Set<string>>([['/', new Set()]]);

  get size(): number {
    return this.nodes.size;
  }

  get(path: string): TreeEntry<T> | undefined {
    return this.nodes.get(path);
  }

  typeOf(path: string): EntryKind | undefined {
    return path === '/' ? 'dir' : this.nodes.get(path)?.entry.type;
  }

  /** The first ancestor of `path` that is not a directory, if any. */
  blockingAncestor(path: string): { path: string; problem: ApplyProblem } | null {
    // Every directory in the tree has only directories above it (parents are created
    // implicitly, and a directory replaced by anything else takes its subtree with it), so
    // a parent that is a directory settles the whole chain.
    const parent = parentOf(path);
    if (parent === null || this.typeOf(parent) === 'dir') return null;
    const chain: string[] = [];
    for (let p = parentOf(path); p !== null && p !== '/'; p = parentOf(p)) chain.push(p);
    for (const p of chain.reverse()) {
      const type = this.typeOf(p);
      if (type === 'symlink') return { path: p, problem: 'parent-is-symlink' };
      if (type === 'file') return { path: p, problem: 'parent-not-dir' };
      if (type === undefined) return null;
    }
    return null;
  }

  /**
   * Add or replace an entry, as applying a changeset does (OCI layer.md, "Changeset over
   * existing files"): a directory over a directory keeps the children and takes the new
   * attributes; anything else replaces the old path, subtree included. Missing parents are
   * created as implicit directories. A parent that is a symlink is refused: following it
   * is how a layer writes outside the rootfs on the host.
   */
  put(entry: MeasuredEntry, extra?: T): { path: string; problem: ApplyProblem } | null {
    const { path } = entry;
    const parent = parentOf(path);
    // Entries come in tree order, so the parent is nearly always a folder already: then
    // nothing above can block, and nothing is missing.
    if (parent !== null && this.typeOf(parent) !== 'dir') {
      const blocked = this.blockingAncestor(path);
      if (blocked) return blocked;
      this.ensureParents(path);
    }
    const existing = this.nodes.get(path);
    if (existing && !(existing.entry.type === 'dir' && entry.type === 'dir')) {
      this.remove(path);
    }
    this.nodes.set(path, extra === undefined ? { entry } : { entry, extra });
    if (parent !== null) this.children.get(parent)?.add(basename(path));
    if (entry.type === 'dir' && !this.children.has(entry.path)) {
      this.children.set(entry.path, new Set());
    }
    return null;
  }

  /**
   * Put `entry` (same path, same type) in place of `planned`, if `planned` is still what the
   * tree holds there: how a planned entry gets its digest once its content has been read,
   * without applying the layers again. Returns whether it did; an entry that a later layer
   * replaced stays as that layer left it.
   */
  settle(planned: MeasuredEntry, entry: MeasuredEntry, extra?: T): boolean {
    const node = this.nodes.get(planned.path);
    if (node?.entry !== planned || entry.path !== planned.path || entry.type !== planned.type)
      return false;
    this.nodes.set(planned.path, extra === undefined ? { entry } : { entry, extra });
    return true;
  }

  /** Remove a path and everything under it (a whiteout). Absent paths are fine. */
  remove(path: string): void {
    if (!this.nodes.has(path)) return;
    this.removeChildren(path);
    this.nodes.delete(path);
    this.children.delete(path);
    const parent = parentOf(path);
    if (parent !== null) this.children.get(parent)?.delete(basename(path));
  }

  /** Remove everything under a directory but keep it (an opaque whiteout). */
  removeChildren(dir: string): void {
    const names = this.children.get(dir);
    if (!names) return;
    for (const name of [...names]) this.remove(dir === '/' ? `/${name}` : `${dir}/${name}`);
  }

  /** Every entry, in tree order. */
  entries(): TreeEntry<T>[] {
    return sortInTreeOrder([...this.nodes.values()], (n) => n.entry.path);
  }

  private ensureParents(path: string): void {
    const missing: string[] = [];
    for (let p = parentOf(path); p !== null && p !== '/' && !this.nodes.has(p); p = parentOf(p)) {
      missing.push(p);
    }
    for (const p of missing.reverse()) {
      this.nodes.set(p, { entry: { path: p, type: 'dir', size: 0, ...IMPLICIT_DIR } });
      this.children.set(p, new Set());
      this.linkToParent(p);
    }
  }

  private linkToParent(path: string): void {
    const parent = parentOf(path);
    if (parent !== null) this.children.get(parent)?.add(basename(path));
  }
}
