import { shiftOwners, toHost, type IdMap } from '../../core/runtime/id-map.js';
import { IngotError } from '../../domain/errors.js';
import type { MeasuredEntry } from '../../domain/measurement.js';
import type { Artifact } from '../artifact.js';

/**
 * The measurement an instance's rootfs is checked against: the signed one, its owners
 * shifted into the instance's id range (as the rootfs was materialised for it).
 */
export function measurementFor(artifact: Artifact, idMap: IdMap | null): readonly MeasuredEntry[] {
  const shifted = shiftOwners(artifact.measurement.entries, idMap);
  if ('unmapped' in shifted)
    throw new IngotError(
      'E_ROOTFS_IDMAP',
      `${artifact.digest}: ${shifted.unmapped.path} is owned by ${shifted.unmapped.uid}:${shifted.unmapped.gid}, outside the ids of an instance's user namespace`,
    );
  return shifted.entries;
}

/**
 * The host ids of the instance's user: whom its volumes belong to on the host. A user the
 * range cannot hold is refused: runc would fail to switch to it anyway.
 */
export function hostOwner(
  user: { uid: number; gid: number },
  idMap: IdMap | null,
): { uid: number; gid: number } {
  const uid = toHost(idMap, user.uid);
  const gid = toHost(idMap, user.gid);
  if (uid === null || gid === null)
    throw new IngotError(
      'E_INSTANCE_USER',
      `the image's user ${user.uid}:${user.gid} is outside the ${idMap?.size ?? 0} ids of an instance's user namespace`,
    );
  return { uid, gid };
}
