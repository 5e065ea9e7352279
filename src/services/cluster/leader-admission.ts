import { pinnedReference, registryReferenceOf } from '../../core/registry/reference.js';
import type { Digest } from '../../domain/digest.js';
import type { FleetStore } from '../../ports/fleet-store.js';

/**
 * Admission for a cluster's leader. Any server may have taken a deploy and pulled its artifact
 * into its own store; the leader may not have it. When its verdict is "could not check" (null)
 * and a fleet names the artifact by registry reference, the leader pulls it by digest (admitted
 * before any layer, as `ingot pull` is) and asks again: without this, a rollout waits forever
 * whenever the server that took the deploy is not the one that leads.
 */
export function leaderAdmission(deps: {
  readonly admitted: (artifact: Digest) => Promise<boolean | null>;
  readonly fleets: Pick<FleetStore, 'fleets'>;
  readonly pull: (reference: string) => Promise<unknown>;
  readonly onPullError: (reference: string, err: unknown) => void;
}): (artifact: Digest) => Promise<boolean | null> {
  return async (artifact) => {
    const verdict = await deps.admitted(artifact);
    if (verdict !== null) return verdict;
    const fleet = (await deps.fleets.fleets()).find((f) => f.artifact === artifact);
    const registry = fleet && registryReferenceOf(fleet.spec.artifact);
    if (!registry) return null;
    const source = pinnedReference(registry, artifact);
    try {
      await deps.pull(source);
    } catch (err) {
      deps.onPullError(source, err);
      return null;
    }
    return deps.admitted(artifact);
  };
}
