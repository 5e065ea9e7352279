/**
 * Which queued start goes next: the first of the fleet with the fewest starts under way.
 * A fleet's storm takes the free slots only while no other fleet waits, so that another
 * fleet's replacement (a drifted instance, say) waits for one slot, not for the storm;
 * within a fleet, and between equally busy fleets, the queue's order holds.
 *
 * `queued` lists the fleet of each queued start in queue order; `inFlight` the fleet of each
 * start under way. Returns an index into `queued`, or -1 when it is empty.
 */
export function fairestStart(queued: readonly string[], inFlight: Iterable<string>): number {
  const busy = new Map<string, number>();
  for (const fleet of inFlight) busy.set(fleet, (busy.get(fleet) ?? 0) + 1);
  let best = -1;
  let least = Infinity;
  for (let at = 0; at < queued.length && least > 0; at++) {
    const n = busy.get(queued[at]!) ?? 0;
    if (n < least) [best, least] = [at, n];
  }
  return best;
}
