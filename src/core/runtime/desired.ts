import { IngotError } from '../../domain/errors.js';
import type { Digest } from '../../domain/digest.js';
import { isInstanceId, type DesiredInstance } from '../../domain/instance.js';
import { parseReference } from '../registry/reference.js';

/** As fleet.yaml's bound (10 minutes): a longer stop would hold up the host's stops. */
const MAX_GRACE_MS = 600_000;
const VOLUME_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/**
 * A host's desired set, checked before anything is done with it: ids name containers and
 * folders, fleet names and volume sources name folders under the host's state, so nothing
 * in them may climb out or collide. Throws on the first bad one. Pure.
 */
export function checkDesired(desired: readonly DesiredInstance[]): void {
  const seen = new Set<string>();
  for (const d of desired) {
    if (!isInstanceId(d.id) || seen.has(d.id))
      throw new IngotError(
        'E_INSTANCE_ID',
        `${JSON.stringify(d.id)} is not a valid instance id, or appears twice`,
      );
    // "_shared" (the shared volumes' folder) is not a valid fleet name.
    if (!isInstanceId(d.fleet))
      throw new IngotError('E_FLEET_NAME', `${JSON.stringify(d.fleet)} is not a valid fleet name`);
    for (const [name, source] of d.volumes ?? [])
      if (!VOLUME_NAME.test(name) || !VOLUME_NAME.test(source))
        throw new IngotError(
          'E_VOLUME_NAME',
          `${JSON.stringify(name)} → ${JSON.stringify(source)} is not a valid volume mapping`,
        );
    const grace = d.stopGraceMs;
    if (
      grace !== undefined &&
      !(Number.isSafeInteger(grace) && grace >= 0 && grace <= MAX_GRACE_MS)
    )
      throw new IngotError(
        'E_STOP_GRACE',
        `instance ${d.id}: stop grace ${JSON.stringify(grace)} is not a whole number of ms from 0 to ${MAX_GRACE_MS}`,
      );
    if (d.source !== undefined && !pinsArtifact(d.source, d.artifact))
      throw new IngotError(
        'E_INSTANCE_SOURCE',
        `instance ${d.id}: source ${JSON.stringify(d.source.slice(0, 200))} is not HOST/REPO@${d.artifact}`,
      );
    seen.add(d.id);
  }
}

/** A host pulls what the release pinned, nothing else: the reference must name that digest. */
function pinsArtifact(source: string, artifact: Digest): boolean {
  try {
    return parseReference(source).digest === artifact;
  } catch {
    return false;
  }
}
