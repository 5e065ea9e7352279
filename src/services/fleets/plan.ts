import { previewRollout, type RolloutPreview } from '../../core/controller/preview.js';
import type { FleetRecord, ReleaseRecord } from '../../core/fleet/record.js';
import { releaseDiff, type ReleaseDiff } from '../../core/fleet/release-diff.js';
import { deployed } from '../../core/fleet/transitions.js';
import type { Digest } from '../../domain/digest.js';
import type { ObservedInstance } from '../../domain/instance.js';
import { checkFleet, type DeployDeps } from './deploy.js';

/** `ingot plan`: what a deploy of this fleet.yaml would change, and do, now. */
export interface FleetPlan {
  readonly diff: ReleaseDiff;
  /** The rollout the deploy would start ("none": the same release, only rescaled or repaced). */
  readonly rollout: FleetRecord['rollout'];
  readonly instances: RolloutPreview;
}

/**
 * What `ingot deploy` would do with `body`, without doing it: the same checks, in the same
 * order, with the same error codes (checkFleet), then the change the deploy would write
 * (core/fleet/transitions.ts) and what the planner would make of the instances running now
 * (core/controller/preview.ts). Writes nothing: no release, no fleet, no ledger entry, no
 * pull.
 */
export async function planDeploy(
  deps: DeployDeps & { readonly observe: () => Promise<ObservedInstance[]> },
  body: unknown,
): Promise<FleetPlan> {
  const { spec, release } = await checkFleet(deps, body, 'plan');
  const existing = await deps.fleets.fleet(spec.name);
  const now = release.createdAt;
  const next = deployed(existing, release, now, 'admin').next;
  const fleet: FleetRecord = { ...next, version: (existing?.version ?? 0) + 1 };
  const mine = (await deps.observe()).filter((i) => i.fleet === spec.name);
  const releases = new Map<string, ReleaseRecord>([[release.digest, release]]);
  for (const digest of new Set(mine.flatMap((i) => (i.release ? [i.release] : []))))
    if (!releases.has(digest)) {
      const r = await deps.fleets.release(digest as Digest);
      if (r) releases.set(digest, r);
    }
  return {
    diff: releaseDiff(existing, release),
    rollout: fleet.rollout,
    instances: previewRollout(fleet, mine, releases, now),
  };
}
