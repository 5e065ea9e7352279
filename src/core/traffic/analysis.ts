import type { FleetRecord } from '../fleet/record.js';
import type { ObservedTraffic } from './observed-share.js';

/**
 * Why the release being rolled out fails its analysis (`analysis:` of fleet.yaml), with the
 * figures, or null: more than maxErrorPercent of its answers were 5xx or failed connections,
 * once it has had minRequests since its step began. Pure.
 */
export function analysisFailure(
  fleet: FleetRecord,
  traffic: ObservedTraffic | undefined,
): string | null {
  const analysis = fleet.spec.analysis;
  if (analysis === undefined || traffic === undefined || fleet.rollout !== 'progressing')
    return null;
  if (traffic.newRequests < analysis.minRequests) return null;
  const percent = (100 * traffic.newErrors) / traffic.newRequests;
  if (percent <= analysis.maxErrorPercent) return null;
  return `analysis: ${percent.toFixed(1)}% of ${traffic.newRequests} requests to the new release failed (5xx or no connection; at most ${analysis.maxErrorPercent}% allowed)`;
}
