import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  lchownSync,
  linkSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { applyLayer } from '../../core/apply-layer.js';
import { diffTree } from '../../core/integrity/diff.js';
import { encodeMeasurement } from '../../core/measurement.js';
import { RootfsTree } from '../../core/rootfs-tree.js';
import type { IdMap } from '../../core/runtime/id-map.js';
import { STANDARD_MOUNT_POINTS } from '../../core/runtime/oci-spec.js';
import { digestHex, type Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type { DroppedEntry, FileExtra, MeasuredEntry } from '../../domain/measurement.js';
import type { Descriptor } from '../../domain/oci.js';
import { fsyncDir } from '../shared/atomic-file.js';
import { readBaseLayer } from '../shared/layer-reader/read-layer.js';
import { OciLayout } from '../shared/layout-reader.js';
import { gateFolder, GATE_PARENT_MODE, ownersInRange } from './id-gate.js';
import { scanTree } from './scan.js';

export interface MaterialiseRequest {
  /** `$INGOT_HOME/rootfs`. */
  readonly cacheDir: string;
  readonly storeRoot: string;
  readonly image: Digest;
  readonly layers: readonly Descriptor[];
  readonly diffIds: readonly Digest[];
  /** The measurement (already checked to be the signed one) as its entries and bytes. */
  readonly measurement: { readonly entries: readonly MeasuredEntry[]; readonly bytes: Buffer };
  /** Folders the runtime mounts over; created if the image lacks them. */
  readonly mountPoints: readonly string[];
  /** The user namespace of the instances it is for: owners on disk are shifted into it. */
  readonly idMap?: IdMap | null;
}

export interface Materialised {
  /** The rootfs folder to hand to runc. */
  readonly rootfs: string;
  readonly reused: boolean;
  /** Mount points the host added (not in the measurement, expected to be empty folders). */
  readonly mountPoints: readonly string[];
}

const READY = 'ready.json';

/**
 * Staging folders of materialisations under way in this process. The collector must not
 * take them for abandoned ones: removing one mid-way failed a start with ENOENT on its
 * objects (a stop's clean-up ran while another instance's rootfs was being made).
 */
const inProgress = new Set<string>();

/** One per artifact and id range: a rootfs's owners are those of the instances' range. */
export function rootfsDir(cacheDir: string, image: Digest, idMap: IdMap | null = null): string {
  return join(cacheDir, digestHex(image) + (idMap === null ? '' : `-u${idMap.hostId}`));
}

/** The artifact a cached rootfs folder's name is for ("<hex>" or "<hex>-u<host id>"). */
const artifactHexOf = (name: string): string => name.replace(/-u\d+$/, '');

/**
 * Unpack an artifact once into `$INGOT_HOME/rootfs/<digest>/rootfs` (or, for instances in a
 * user namespace, once per id range into `<digest>-u<host id>/rootfs`, every owner shifted into
 * the range), and verify it against the measurement (shifted alike) before anything runs from it.
 *
 * Hostile layers cannot place a byte outside it: layer content is written only to a flat
 * folder of objects named by their sha256 (shared/layer-reader), and the tree is then built from
 * the flattened measurement, whose paths are validated and whose parents are always folders
 * this function created itself (a path under a symlink is refused when layers are applied).
 * Layers are decompressed within the same bounds as base images. The tree that results must
 * equal the signed measurement byte for byte, and the files on disk must match it.
 */
export async function materialiseRootfs(req: MaterialiseRequest): Promise<Materialised> {
  const idMap = req.idMap ?? null;
  mkdirSync(req.cacheDir, { recursive: true, mode: 0o700 });
  // Search-only for others when a user namespace must reach its rootfs (see id-gate.ts).
  chmodSync(req.cacheDir, idMap === null ? 0o700 : GATE_PARENT_MODE);
  const final = rootfsDir(req.cacheDir, req.image, idMap);
  const added = req.mountPoints.filter(
    (m) => !req.measurement.entries.some((e) => e.path === m && e.type === 'dir'),
  );
  if (existsSync(join(final, READY)))
    return { rootfs: join(final, 'rootfs'), reused: true, mountPoints: added };

  const staging = join(req.cacheDir, `.staging-${randomBytes(6).toString('hex')}`);
  const objects = join(staging, 'objects');
  const rootfs = join(staging, 'rootfs');
  inProgress.add(staging);
  mkdirSync(objects, { recursive: true, mode: 0o700 });
  mkdirSync(rootfs, { mode: 0o755 });
  // Explicitly: the server runs under umask 077, and an instance's unprivileged user must
  // still reach its own "/".
  chmodSync(rootfs, 0o755);
  try {
    // Owners as the host sees them for this range: the files are made so, and the signed
    // measurement is compared shifted alike (here and by the integrity monitor).
    const entries = ownersInRange(req.image, await flattenLayers(req, objects), idMap);

    // Every path is made by us under folders made by us (the tree refuses entries under a
    // symlink), in a folder only root can enter, so a path we just made is what we made:
    // owners and modes are set by path (lchown; chmod never meets a symlink here), two calls
    // per path instead of four through a descriptor. Content always comes from the objects,
    // never from another path of the tree: a hard link whose target a later layer replaced
    // by a symlink must not reach the host.
    const uses = new Map<string, number>();
    for (const e of entries)
      if (e.type === 'file') {
        const object = join(objects, e.sha256!);
        uses.set(object, (uses.get(object) ?? 0) + 1);
      }
    const linked = new Set<string>();
    // Each file's content as hashed while its object was written (layer-reader): the check
    // below need not read 200 MB back from the disk it just wrote them to.
    const written = new Map<string, string>();
    for (const e of entries) {
      const abs = join(rootfs, e.path);
      if (e.type === 'symlink') {
        symlinkSync(e.target ?? '', abs);
        lchownSync(abs, e.uid, e.gid);
        continue;
      }
      if (e.type === 'dir') mkdirSync(abs, { mode: 0o700 });
      else placeFile(join(objects, e.sha256!), abs, uses, linked);
      if (e.type === 'file') written.set(e.path, e.sha256!);
      lchownSync(abs, e.uid, e.gid);
      chmodSync(abs, e.mode); // after chown, which clears set-id bits
    }
    addMountPoints(req.image, rootfs, entries, added);
    if (idMap !== null) gateFolder(staging, rootfs, idMap);
    const drift = diffTree(entries, scanTree(rootfs, written), new Set(added));
    if (drift.length > 0)
      throw new IngotError(
        'E_ROOTFS_VERIFY',
        `the unpacked rootfs of ${req.image} does not match its measurement: ${JSON.stringify(drift.slice(0, 3))}`,
      );
    rmSync(objects, { recursive: true, force: true });
    writeFileSync(
      join(staging, READY),
      JSON.stringify({ image: req.image, mountPoints: added }) + '\n',
    );
    try {
      renameSync(staging, final);
    } catch (err) {
      // Someone materialised the same artifact meanwhile: theirs is as good as ours.
      if (existsSync(join(final, READY))) {
        rmSync(staging, { recursive: true, force: true });
        return { rootfs: join(final, 'rootfs'), reused: true, mountPoints: added };
      }
      throw err;
    }
    // A folder swap, not a file write (atomic-file.ts does not apply): syncing the parent
    // makes the swap itself survive a crash.
    fsyncDir(req.cacheDir);
    return { rootfs: join(final, 'rootfs'), reused: false, mountPoints: added };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  } finally {
    inProgress.delete(staging);
  }
}

/**
 * A file's content from its object. A content that only this path has is moved into place
 * (no copy, nothing left to delete); one that several paths have is linked to the first
 * and copied for the others, so that paths with the same content but other owners or modes
 * stay independent.
 */
function placeFile(
  object: string,
  abs: string,
  uses: ReadonlyMap<string, number>,
  linked: Set<string>,
): void {
  if (uses.get(object) === 1) renameSync(object, abs);
  else if (linked.has(object)) copyFileSync(object, abs, constants.COPYFILE_EXCL);
  else {
    linkSync(object, abs);
    linked.add(object);
  }
}

/**
 * The artifact's layers read (each blob verified, within bounds, content kept as objects)
 * and flattened; the result must be the signed measurement byte for byte.
 */
async function flattenLayers(
  req: MaterialiseRequest,
  objects: string,
): Promise<readonly MeasuredEntry[]> {
  const layout = new OciLayout(req.storeRoot);
  const tree = new RootfsTree<FileExtra>();
  // Device nodes under /dev are never created on the host (the build left them out by the
  // same rule, and the measurement lists them).
  const dropped: DroppedEntry[] = [];
  for (const [i, descriptor] of req.layers.entries()) {
    const read = await readBaseLayer(layout, descriptor, req.diffIds[i]!, {
      objectsDir: objects,
    });
    dropped.push(...read.dropped);
    const problem = applyLayer(tree, read.changes);
    if (problem)
      throw new IngotError(
        'E_ROOTFS_LAYER',
        `layer ${descriptor.digest}: ${problem.entry} would be written through ${problem.path}`,
      );
  }
  const entries = tree.entries().map((t) => t.entry);
  if (!encodeMeasurement(entries, dropped).equals(req.measurement.bytes))
    throw new IngotError(
      'E_ROOTFS_MEASUREMENT',
      `the layers of ${req.image} do not flatten to its measurement`,
    );
  return entries;
}

/**
 * Mount points: Ingot's images carry them. Only /proc, /dev and /sys may be missing (from
 * images built elsewhere), and only at the top, where the parent is the rootfs itself.
 */
function addMountPoints(
  image: Digest,
  rootfs: string,
  entries: readonly MeasuredEntry[],
  added: readonly string[],
): void {
  const present = new Set(entries.map((e) => e.path));
  for (const m of added) {
    if (
      !STANDARD_MOUNT_POINTS.includes(m as (typeof STANDARD_MOUNT_POINTS)[number]) ||
      present.has(m)
    )
      throw new IngotError(
        'E_ROOTFS_MOUNTPOINT',
        `${image} has no folder at ${m}, where the runtime mounts: rebuild it with Ingot`,
      );
    mkdirSync(join(rootfs, m), { mode: 0o755 });
    chmodSync(join(rootfs, m), 0o755);
  }
}

/**
 * Move a rootfs that was changed out of the way, for good: the next start of the artifact
 * materialises it afresh from verified blobs, and instances still running from it (all of
 * them tainted) keep their root until they are replaced. Returns the new rootfs folder.
 */
export function discardRootfs(cacheDir: string, image: Digest, rootfs: string): string {
  const dir = dirname(rootfs);
  if (dirname(dir) !== cacheDir || !basename(dir).startsWith(digestHex(image)))
    throw new IngotError(
      'E_ROOTFS_DISCARD',
      `${rootfs} is not a rootfs of ${image} in ${cacheDir}`,
    );
  if (basename(dir).includes('.discarded-')) return rootfs; // discarded already
  const to = `${dir}.discarded-${Date.now()}-${process.pid}`;
  renameSync(dir, to);
  // A rootfs that was changed must not come back after a crash as the artifact's cache.
  fsyncDir(cacheDir);
  return join(to, 'rootfs');
}

/**
 * Remove every cached rootfs (and abandoned staging, and discarded ones) not in `keep` and
 * not the folder of a running instance (`foldersInUse`: rootfs paths); returns what went.
 */
export function collectRootfs(
  cacheDir: string,
  keep: ReadonlySet<Digest>,
  foldersInUse: ReadonlySet<string> = new Set(),
): string[] {
  if (!existsSync(cacheDir)) return [];
  const keepHex = new Set([...keep].map(digestHex));
  const removed: string[] = [];
  for (const name of readdirSync(cacheDir)) {
    if (
      keepHex.has(artifactHexOf(name)) ||
      foldersInUse.has(join(cacheDir, name, 'rootfs')) ||
      inProgress.has(join(cacheDir, name))
    )
      continue;
    rmSync(join(cacheDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
