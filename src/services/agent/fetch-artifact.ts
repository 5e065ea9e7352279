import { parseReference } from '../../core/registry/reference.js';
import { isIngotError } from '../../domain/errors.js';
import type { Digest } from '../../domain/digest.js';
import type { PullReport } from '../registry/pull.js';
import { refusalReasons } from '../verify.js';

/** Pulls a registry reference by digest into the host's store (`ingot pull`'s admission). */
export type PullArtifact = (reference: string) => Promise<PullReport>;

export type Fetched =
  | { readonly ok: true; readonly pulled: boolean }
  | { readonly ok: false; readonly state: 'refused' | 'failed'; readonly reason: string };

/**
 * The artifact in this host's store before anything else of a start: a host that lacks it
 * (a new host, a store emptied) pulls it by digest from where the release says. Starts of one
 * artifact share one pull: three replicas must not fetch the same layers three times.
 * A pull admission refuses is a refusal; one that cannot complete is a failed start (the
 * controller tries again, and the next pull fetches only what is still missing).
 */
export function artifactFetcher(
  hasManifest: (digest: Digest) => Promise<boolean>,
  pull: PullArtifact | undefined,
): (artifact: Digest, source: string | undefined) => Promise<Fetched> {
  const inFlight = new Map<string, Promise<Fetched>>();
  const fetch = async (artifact: Digest, source: string): Promise<Fetched> => {
    // Defence in depth: what is pulled must be what the release pinned, whatever `source` says.
    if (parseReference(source).digest !== artifact)
      return { ok: false, state: 'refused', reason: `${source} does not pin ${artifact}` };
    if (!pull)
      return {
        ok: false,
        state: 'failed',
        reason: `${artifact} is not in this host's store and this host pulls from no registry (E_REF_NOT_FOUND)`,
      };
    try {
      const report = await pull(source);
      if (report.ok) return { ok: true, pulled: true };
      return { ok: false, state: 'refused', reason: refusalReasons(report.verify).join('; ') };
    } catch (err) {
      return {
        ok: false,
        state: 'failed',
        reason: isIngotError(err)
          ? `pulling ${source}: ${err.message} (${err.code})`
          : `pulling ${source}: ${String(err)}`,
      };
    }
  };
  return async (artifact, source) => {
    if (source === undefined || (await hasManifest(artifact))) return { ok: true, pulled: false };
    const pending = inFlight.get(source);
    // Another start is pulling it: wait for that pull (its start reports it, not this one).
    if (pending) return pending.then((f) => (f.ok ? { ok: true, pulled: false } : f));
    const mine = fetch(artifact, source).finally(() => inFlight.delete(source));
    inFlight.set(source, mine);
    return mine;
  };
}
