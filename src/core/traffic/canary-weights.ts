import { MAX_WEIGHT } from './edge.js';

/**
 * Weights for a canary step: `percent` of requests to the new release's instances, the rest
 * to the old, with every instance of one release at one weight. HAProxy's roundrobin sends
 * a server weight/Σweights of the requests, so the new release gets
 *   share = newCount·new / (newCount·new + oldCount·old)
 * and the weights are chosen (whole, 0–256) to bring that within ±1 point of `percent`:
 * `{ percent: 10 }` means 10 % of requests, not 10 % of instances.
 */
export type CanaryWeights =
  | {
      readonly ok: true;
      /** The weight of each old instance and of each new one. */
      readonly old: number;
      readonly new: number;
      /** The share of requests the new release gets with them, in percent. */
      readonly share: number;
    }
  | {
      readonly ok: false;
      readonly reason: string;
      /** The nearest share the weights can give (absent when none can be given at all). */
      readonly closest?: number;
    };

/** How far the share may be from the percent asked, in points. */
export const SHARE_TOLERANCE = 1;

/** The largest number of instances on either side the search accepts. */
export const MAX_CANARY_INSTANCES = 100_000;

export function canaryWeights(
  percent: number,
  counts: { readonly old: number; readonly new: number },
): CanaryWeights {
  const bad = inputProblem(percent, counts);
  if (bad !== null) return { ok: false, reason: bad };
  // The ends are exact: a promoted canary takes every request, an aborted one none.
  if (percent === 0)
    return counts.old > 0
      ? { ok: true, old: 1, new: 0, share: 0 }
      : { ok: false, reason: 'no old instance to send every request to' };
  if (percent === 100)
    return counts.new > 0
      ? { ok: true, old: 0, new: 1, share: 100 }
      : { ok: false, reason: 'no new instance to send every request to' };
  if (counts.old === 0 || counts.new === 0)
    return { ok: false, reason: `a split of ${percent} % needs instances of both releases` };
  const best = nearest(percent, counts);
  if (Math.abs(best.share - percent) <= SHARE_TOLERANCE) return { ok: true, ...best };
  return {
    ok: false,
    reason: `weights of 0–${MAX_WEIGHT} cannot give ${percent} % of requests to ${counts.new} new and ${counts.old} old instances (nearest ${round2(best.share)} %): change the number of instances on one side`,
    closest: best.share,
  };
}

/** The share `weights` give the new release, in percent. */
export function shareOf(
  weights: { readonly old: number; readonly new: number },
  counts: { readonly old: number; readonly new: number },
): number {
  const fresh = counts.new * weights.new;
  const total = fresh + counts.old * weights.old;
  return total === 0 ? 0 : (100 * fresh) / total;
}

/**
 * The pair nearest the asked share: for each old weight, the new weight nearest the ideal
 * ratio (and its neighbour); ties go to the smaller weights, so the answer is one and the
 * same on every call.
 */
function nearest(
  percent: number,
  counts: { readonly old: number; readonly new: number },
): { old: number; new: number; share: number } {
  const ratio = (percent / (100 - percent)) * (counts.old / counts.new);
  let best = { old: 1, new: 1, share: shareOf({ old: 1, new: 1 }, counts) };
  for (let old = 1; old <= MAX_WEIGHT; old++) {
    const ideal = ratio * old;
    for (const candidate of [Math.floor(ideal), Math.ceil(ideal)]) {
      const fresh = Math.min(MAX_WEIGHT, Math.max(1, candidate));
      const share = shareOf({ old, new: fresh }, counts);
      if (Math.abs(share - percent) < Math.abs(best.share - percent) - 1e-12)
        best = { old, new: fresh, share };
    }
  }
  return best;
}

function inputProblem(percent: number, counts: { readonly old: number; readonly new: number }) {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100)
    return `a percent from 0 to 100, got ${String(percent)}`;
  for (const n of [counts.old, counts.new])
    if (!Number.isInteger(n) || n < 0 || n > MAX_CANARY_INSTANCES)
      return `instance counts must be whole numbers from 0 to ${MAX_CANARY_INSTANCES}, got ${String(n)}`;
  return null;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
