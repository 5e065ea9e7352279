import type { FleetTarget, Plan, PlannedInstanceView, StopReason } from '../../domain/fleet.js';

const LIVE = new Set(['pending', 'starting', 'healthy', 'unhealthy']);

/** Healthy for at least minReady: it serves, and counts toward availability (tainted or not). */
export function isReady(i: PlannedInstanceView, target: FleetTarget, now: number): boolean {
  return (
    i.state === 'healthy' && i.healthySince !== null && now - i.healthySince >= target.minReadyMs
  );
}

/** Deterministic names: retrying a plan names the same instances, so nothing starts twice. */
export function instanceName(fleet: string, release: string, n: number): string {
  const short = release.replace(/^sha256:/, '').slice(0, 8);
  return `${fleet}-${short}-${n}`;
}

const URGENCY: Record<StopReason, number> = {
  gone: 0,
  tainted: 1,
  unhealthy: 2,
  'old-release': 3,
  aged: 4,
  surplus: 5,
};

/**
 * One step of a rolling replacement, level-triggered: from what should run and what runs,
 * which instances to start and which to stop now. Pure.
 *
 * Unhealthy instances are replaced like tainted ones: nothing is repaired in place.
 *
 * Safety: it never stops a ready instance if fewer than `replicas - maxUnavailable` would
 * stay ready, never plans more live instances than `replicas + maxSurge`, and never starts
 * a release that admission refused (and then keeps the old release serving). Progress:
 * tainted instances first, then those of old releases, then those past their age are
 * replaced as the budgets allow; dead ones are cleaned up at once. Stops are decided first
 * and starts fill the room they leave, so applying a plan and planning again at the same
 * moment gives nothing more to do.
 */
export function plan(
  target: FleetTarget,
  observed: readonly PlannedInstanceView[],
  now: number,
): Plan {
  const stop: { id: string; reason: StopReason }[] = [];
  const reasons: string[] = [];
  const live = observed.filter((i) => LIVE.has(i.state));
  for (const i of observed) if (!LIVE.has(i.state)) stop.push({ id: i.id, reason: 'gone' });

  const aged = (i: PlannedInstanceView) =>
    target.maxInstanceAgeMs !== null &&
    i.startedAt !== null &&
    now - i.startedAt >= target.maxInstanceAgeMs;
  const replaceReason = (i: PlannedInstanceView): StopReason | null =>
    i.tainted
      ? 'tainted'
      : i.state === 'unhealthy'
        ? 'unhealthy' // replaced, never repaired in place
        : i.release !== target.release
          ? 'old-release'
          : aged(i)
            ? 'aged'
            : null;
  const current = live.filter((i) => replaceReason(i) === null);
  const ready = (i: PlannedInstanceView) => isReady(i, target, now);

  // Stops, within the availability budget.
  const candidates: { i: PlannedInstanceView; reason: StopReason }[] = [];
  for (const i of live) {
    const reason = replaceReason(i);
    // With the new release refused, the old one keeps serving; only taint still evicts.
    if (reason !== null && (target.admitted || reason === 'tainted'))
      candidates.push({ i, reason });
  }
  if (current.length > target.replicas)
    candidates.push(
      ...[...current]
        // the least useful first: not ready, then the youngest
        .sort(
          (a, b) =>
            Number(ready(a)) - Number(ready(b)) ||
            (b.startedAt ?? 0) - (a.startedAt ?? 0) ||
            (a.id < b.id ? -1 : 1),
        )
        .slice(0, current.length - target.replicas)
        .map((i) => ({ i, reason: 'surplus' as const })),
    );
  // Not-ready ones cost no availability: they go first; then by urgency.
  candidates.sort(
    (a, b) =>
      Number(ready(a.i)) - Number(ready(b.i)) ||
      URGENCY[a.reason] - URGENCY[b.reason] ||
      (a.i.id < b.i.id ? -1 : 1),
  );
  const floor = target.replicas - target.maxUnavailable;
  let readyCount = live.filter(ready).length;
  let waiting = 0;
  for (const { i, reason } of candidates) {
    if (ready(i)) {
      if (readyCount - 1 < floor) {
        waiting++;
        continue;
      }
      readyCount--;
    }
    stop.push({ id: i.id, reason });
  }
  if (waiting > 0)
    reasons.push(
      `availability budget: ${waiting} instance(s) keep serving until replacements are ready`,
    );

  // Starts: current instances up to `replicas`, in the room the stops leave under the ceiling.
  const stopping = new Set(stop.map((s) => s.id));
  const remaining = live.filter((i) => !stopping.has(i.id));
  const currentLeft = remaining.filter((i) => replaceReason(i) === null).length;
  const wanted = Math.max(0, target.replicas - currentLeft);
  const room = Math.max(0, target.replicas + target.maxSurge - remaining.length);
  const start: { id: string; release: string }[] = [];
  if (wanted > 0 && !target.admitted)
    reasons.push('the release is refused by admission: nothing is started');
  else if (wanted > room) reasons.push(`surge budget: ${wanted - room} start(s) wait for room`);
  const count = target.admitted ? Math.min(wanted, room) : 0;
  const taken = new Set(observed.map((i) => i.id));
  for (let n = 0; start.length < count; n++) {
    const id = instanceName(target.fleet, target.release, n);
    if (!taken.has(id)) start.push({ id, release: target.release });
  }

  return { start, stop, keep: remaining.map((i) => i.id), reasons };
}
