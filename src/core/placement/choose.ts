import type { HostTable, Need } from './host-table.js';
import type { SpreadCounts } from './spread-counts.js';
import type { PlacementInstance } from './types.js';

/**
 * The host a new instance goes to, among `eligible` (ready hosts that meet its constraints,
 * in name order), or -1 if none has room. Of the hosts with room, in this order of
 * preference:
 *
 * 1. when the fleet spreads over a label: a host that has the label (hosts without it are a
 *    last resort, not a zone of their own), then the value with the fewest of the fleet's
 *    instances: a zone lost takes as few of them as it can;
 * 2. the host with the fewest of the fleet's instances: a host lost takes as few as it can;
 * 3. the emptiest host: the lowest dominant share (the largest fraction used of memory,
 *    CPUs, pids or instance slots) once the instance is added;
 * 4. the first by name.
 *
 * Why spread and not bin-pack (Nomad's default) at step 3: bin-packing frees whole
 * machines so that a cloud autoscaler can give them back. Ingot's hosts are machines an
 * operator registered, not a pool that shrinks, and the faults it is built for are hosts
 * lost: headroom left evenly on every host is what absorbs a lost host's replacements and a
 * rollout's surge without piling them onto the few emptiest, and it keeps noisy neighbours
 * apart (Kubernetes' default, LeastAllocated, for the same reasons). The fragmentation
 * spreading causes is offset by placing the largest instances first (see place.ts).
 *
 * O(eligible hosts): every count is a look-up (SpreadCounts), never a count of instances.
 */
export function chooseHost(
  table: HostTable,
  counts: SpreadCounts,
  eligible: readonly number[],
  instance: PlacementInstance,
  need: Need,
): number {
  const onHost = counts.onHost(instance.fleet);
  const label = instance.rules.spread;
  const zoneOf = label === undefined ? null : counts.zoneOf(label);
  const inZone = label === undefined ? null : counts.inZone(instance.fleet, label);
  let best = -1;
  let bestMissing = 0;
  let bestZone = 0;
  let bestHost = 0;
  let bestShare = 0;
  for (const h of eligible) {
    const share = table.shareIfFits(h, need);
    if (share < 0) continue;
    const z = zoneOf === null ? 0 : zoneOf[h]!;
    const missing = z < 0 ? 1 : 0;
    const inThisZone = inZone !== null && z >= 0 ? inZone[z]! : 0;
    const here = onHost[h]!;
    if (best >= 0) {
      // Lexicographic: the first criterion that differs decides; a full tie keeps the
      // earlier host by name.
      const worse =
        missing !== bestMissing
          ? missing > bestMissing
          : inThisZone !== bestZone
            ? inThisZone > bestZone
            : here !== bestHost
              ? here > bestHost
              : share >= bestShare;
      if (worse) continue;
    }
    best = h;
    bestMissing = missing;
    bestZone = inThisZone;
    bestHost = here;
    bestShare = share;
  }
  return best;
}
