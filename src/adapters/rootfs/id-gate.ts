import { chmodSync, chownSync, lchownSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { shiftOwners, type IdMap } from '../../core/runtime/id-map.js';
import type { Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type { MeasuredEntry } from '../../domain/measurement.js';

/**
 * runc mounts an instance's rootfs and volumes from inside its user namespace, where host
 * root's private folders (0700) are closed to it: the kernel grants no capability over a
 * file whose owner the namespace does not map. So, as Docker does for `userns-remap`, the
 * folders above are search-only for others (0711: nothing can be listed or read through
 * them, only a name known in advance reached), and the folder of each range is the gate:
 * 0710, its group the range's root group, so that only that range's instances get through.
 */
export const GATE_PARENT_MODE = 0o711;
const GATE_MODE = 0o710;

/**
 * Let the instances of `idMap`, and only them, through `gate` (a rootfs's cache folder);
 * the image's "/" (no entry of the measurement) is their root's, as every other folder is.
 */
export function gateFolder(gate: string, rootfs: string, idMap: IdMap): void {
  lchownSync(rootfs, idMap.hostId, idMap.hostId);
  chownSync(gate, process.getuid?.() ?? 0, idMap.hostId);
  chmodSync(gate, GATE_MODE);
}

/** Make `dir` passable (search-only) for others, for the gates beneath it. */
export function openForSearch(dir: string): void {
  chmodSync(dir, GATE_PARENT_MODE);
}

/**
 * A rootfs's entries with the owners the host gives them for `idMap`. An owner outside the
 * range is refused: inside it would be `nobody`, and outside some other host user's id.
 */
export function ownersInRange(
  image: Digest,
  entries: readonly MeasuredEntry[],
  idMap: IdMap | null,
): readonly MeasuredEntry[] {
  const shifted = shiftOwners(entries, idMap);
  if ('unmapped' in shifted)
    throw new IngotError(
      'E_ROOTFS_IDMAP',
      `${image}: ${shifted.unmapped.path} is owned by ${shifted.unmapped.uid}:${shifted.unmapped.gid}, outside the ${idMap?.size ?? 0} ids of an instance's user namespace: rebuild it with owners below ${idMap?.size ?? 0}`,
    );
  return shifted.entries;
}

/**
 * The first folder above `home` that others cannot pass (no search bit for them), or null.
 * runc reaches a rootfs from inside the instance's user namespace, as a stranger to every
 * host folder on the way: a home under /root (0700) cannot serve one.
 */
export function blockingAncestor(home: string): string | null {
  for (let dir = dirname(resolve(home)); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return dir;
    if (dir === dirname(dir)) return null;
  }
}
