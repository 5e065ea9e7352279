import type { LayerSpec } from '../domain/baseline.js';
import { SourceError } from '../domain/build-errors.js';
import type { MeasuredEntry } from '../domain/measurement.js';
import type { SourceFile, SourceListing } from '../domain/source.js';
import { joinImagePath, parentOf, sortInTreeOrder, toEntryName, toImagePath } from './paths.js';
import type { RootfsTree } from './rootfs-tree.js';
import type { TarEntryHeader } from './tar/header.js';
import { formatMode } from './baseline/units.js';

/** One entry of a layer Ingot writes: its tar header and, for files, where to read it. */
export interface PlannedEntry {
  readonly header: TarEntryHeader;
  readonly file?: SourceFile;
}

const DEFAULT_DIR_MODE = 0o755;

/**
 * The entries of one baseline layer, decided before a byte of content is read: names under
 * the destination, normalised modes and owners, missing parent directories, tree order.
 *
 * Modes are normalised because the build must not depend on the umask of whoever checked
 * the sources out: files become 0644, or 0755 when the owner may execute them; directories
 * 0755. `mode`/`dirMode` override that. setuid/setgid bits on a source file are refused
 * unless the layer declares them (`setuid: true`, or a `mode` that sets them): a privileged
 * binary must never slip into an image unnoticed.
 *
 * `tree` is the rootfs as the layers below this one leave it; it is read, not changed.
 */
export function planLayer(
  spec: LayerSpec,
  listing: SourceListing,
  tree: RootfsTree,
  mtime: number,
): PlannedEntry[] {
  const root = destinationRoot(spec, listing);
  const out: PlannedEntry[] = [];
  // Folders and links this layer writes (a file is never anyone's parent), and the parents
  // of everything it writes; the walk lists a folder's entries together, so consecutive
  // duplicates are most of them.
  const emitted = new Set<string>();
  const parents: string[] = [];
  const { uid, gid } = spec;

  for (const item of listing.items) {
    const path = joinImagePath(root, item.rel);
    if (item.rel === '' && item.kind === 'dir' && tree.typeOf(path) === 'dir') continue;
    if (path === '/') continue;
    const name = toEntryName(path);
    let header: TarEntryHeader;
    if (item.kind === 'file') {
      const mode = fileMode(spec, item.mode, path);
      header = { name, type: 'file', mode, uid, gid, size: item.file?.size ?? 0, mtime };
    } else if (item.kind === 'dir') {
      header = {
        name,
        type: 'dir',
        mode: spec.dirMode ?? DEFAULT_DIR_MODE,
        uid,
        gid,
        size: 0,
        mtime,
      };
    } else {
      const linkname = item.target ?? '';
      header = { name, type: 'symlink', mode: 0o777, uid, gid, size: 0, mtime, linkname };
    }
    checkAgainstLower(tree, path, header.type);
    out.push(item.file ? { header, file: item.file } : { header });
    if (item.kind !== 'file') emitted.add(path);
    const parent = parentOf(path);
    if (parent !== null && parent !== parents[parents.length - 1]) parents.push(parent);
  }

  // Parents nobody wrote, like `mkdir -p` by root.
  out.push(...missingDirs(parents, tree, emitted, mtime));
  return sortInTreeOrder(out, (e) => e.header.name);
}

/** The entry as the measurement records it (content hash added once it has been read). */
export function measuredFromHeader(header: TarEntryHeader, sha256?: string): MeasuredEntry {
  const path = `/${header.name}`;
  const { mode, uid, gid } = header;
  switch (header.type) {
    case 'file':
      return sha256 === undefined
        ? { path, type: 'file', mode, uid, gid, size: header.size }
        : { path, type: 'file', mode, uid, gid, size: header.size, sha256 };
    case 'dir':
      return { path, type: 'dir', mode, uid, gid, size: 0 };
    case 'symlink':
      return { path, type: 'symlink', mode, uid, gid, size: 0, target: header.linkname ?? '' };
    case 'hardlink':
      throw new Error('Ingot never writes hard links');
  }
}

/**
 * The regular files of a listing with the image paths planLayer will give them: enough to
 * start reading them before the layer is planned.
 */
export function sourceFilesOf(
  spec: LayerSpec,
  listing: SourceListing,
): { file: SourceFile; path: string }[] {
  const root = destinationRoot(spec, listing);
  return listing.items.flatMap((item) =>
    item.file ? [{ file: item.file, path: joinImagePath(root, item.rel) }] : [],
  );
}

function destinationRoot(spec: LayerSpec, listing: SourceListing): string {
  if (listing.rootKind === 'dir') return spec.destination;
  if (spec.intoDirectory || spec.destination === '/') {
    return joinImagePath(spec.destination, listing.rootName);
  }
  return spec.destination;
}

function fileMode(spec: LayerSpec, found: number, path: string): number {
  if (spec.mode !== undefined) return spec.mode;
  const special = found & 0o6000;
  if (special !== 0 && !spec.setuid) {
    throw new SourceError(
      'E_SOURCE_SETUID',
      path,
      `the source file has mode ${formatMode(found)} with setuid/setgid bits; declare them with "setuid: true" or a "mode" on this layer, or remove them`,
    );
  }
  return ((found & 0o100) !== 0 ? 0o755 : 0o644) | (spec.setuid ? special : 0);
}

function checkAgainstLower(tree: RootfsTree, path: string, type: TarEntryHeader['type']): void {
  const blocked = tree.blockingAncestor(path);
  if (blocked?.problem === 'parent-is-symlink') {
    throw new SourceError(
      'E_DEST_THROUGH_SYMLINK',
      path,
      `${blocked.path} is a symlink in a lower layer; write to the path it points to instead (a layer never writes through a symlink)`,
    );
  }
  if (blocked) {
    throw new SourceError(
      'E_DEST_CONFLICT',
      path,
      `${blocked.path} is a file in a lower layer, not a folder`,
    );
  }
  const existing = tree.typeOf(path);
  if (existing !== undefined && existing !== type) {
    const hint =
      existing === 'dir' && type === 'file'
        ? ' (end the destination with "/" to copy into it)'
        : '';
    throw new SourceError(
      'E_DEST_CONFLICT',
      path,
      `is a ${existing} in a lower layer and this layer would replace it with a ${type}${hint}`,
    );
  }
}

/**
 * Folders the runtime mounts on (/proc, /dev, /sys, the contract's tmpfs paths and volumes)
 * that no layer created. They must exist in the image: the host mounts onto a read-only,
 * measured rootfs and must never create anything in it. A tmpfs takes the mode of the
 * folder it covers (runc copies it), so the `writable` ones are made 1777, as /tmp is.
 */
export function planMountPoints(
  paths: readonly string[],
  tree: RootfsTree,
  mtime: number,
  writable: ReadonlySet<string> = new Set(),
): PlannedEntry[] {
  const planned = missingDirs(paths, tree, new Set(), mtime).map((e) =>
    writable.has(toImagePath(e.header.name)) ? { header: { ...e.header, mode: 0o1777 } } : e,
  );
  return sortInTreeOrder(planned, (e) => e.header.name);
}

/**
 * The folders among `dirs`, and their ancestors, that neither the lower layers nor
 * `emitted` have, as entries made the way `mkdir -p` by root makes them. Only missing ones:
 * an existing folder's owner and mode are never changed by accident. Adds to `emitted`.
 */
function missingDirs(
  dirs: readonly string[],
  tree: RootfsTree,
  emitted: Set<string>,
  mtime: number,
): PlannedEntry[] {
  const out: PlannedEntry[] = [];
  const queue = [...dirs];
  for (let i = 0; i < queue.length; i++) {
    const dir = queue[i]!;
    if (dir === '/' || emitted.has(dir) || tree.typeOf(dir) === 'dir') continue;
    checkAgainstLower(tree, dir, 'dir');
    out.push({
      header: {
        name: toEntryName(dir),
        type: 'dir',
        mode: DEFAULT_DIR_MODE,
        uid: 0,
        gid: 0,
        size: 0,
        mtime,
      },
    });
    emitted.add(dir);
    const parent = parentOf(dir);
    if (parent !== null) queue.push(parent);
  }
  return out;
}
