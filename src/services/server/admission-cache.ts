import type { Digest } from '../../domain/digest.js';
import type { Store } from '../../ports/store.js';
import type { LoadedPolicy } from '../policy.js';
import { verifyArtifact } from '../verify.js';

export interface AdmissionDeps {
  readonly store: Store;
  readonly trust: () => Promise<LoadedPolicy>;
  readonly now: () => number;
}

/**
 * Admission's verdict on an artifact for the controller, which asks every pass: kept for
 * `ttlMs`, so a policy or key change is felt within that long without verifying every
 * artifact twice a second. The blobs are not re-hashed here: the host does that before each
 * start. Null when the artifact could not be checked at all this time (a transient failure
 * is not a verdict: asked again next pass).
 */
export function cachedAdmission(
  deps: AdmissionDeps,
  ttlMs = 30_000,
): (artifact: Digest) => Promise<boolean | null> {
  const verdicts = new Map<Digest, { ok: boolean; at: number }>();
  return async (artifact) => {
    const hit = verdicts.get(artifact);
    if (hit && deps.now() - hit.at < ttlMs) return hit.ok;
    const t = await deps.trust();
    const report = await verifyArtifact(deps.store, {
      ref: artifact,
      policy: t.policy,
      keys: t.keys,
      rehash: false,
      resources: null,
    }).catch(() => null);
    if (report === null) return null;
    verdicts.set(artifact, { ok: report.ok, at: deps.now() });
    return report.ok;
  };
}
