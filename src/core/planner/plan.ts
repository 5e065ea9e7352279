import type { FleetTarget, Plan, PlannedInstanceView, StopReason } from '../../domain/fleet.js';

/**
 * States of an instance that is, or is about to be, running. Not "stopping": as Kubernetes
 * does with terminating pods, an instance being stopped neither serves nor counts against
 * the surge ceiling, or a program that takes its whole grace to stop would make a rollout
 * take a grace per batch. (It is planned as a stop, "gone", and its name is not reused.)
 */
export const LIVE: ReadonlySet<string> = new Set(['pending', 'starting', 'healthy', 'unhealthy']);

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
 * One step of a replacement, level-triggered: from what should run and what runs, which
 * instances to start and which to stop now. Pure.
 *
 * Unhealthy instances are replaced like tainted ones: nothing is repaired in place.
 *
 * Safety: it never stops a ready instance if fewer than `replicas - maxUnavailable` would
 * stay ready, never plans more live instances than `replicas + maxSurge`, and never starts
 * a release that admission refused or that is held (its starts fail and wait); then it keeps
 * what runs serving: only taint still evicts. Progress: tainted instances first, then those
 * of releases no longer wanted or beyond their release's share, then those past their age
 * are replaced as the budgets allow; dead ones are cleaned up at once. Stops are decided
 * first and starts fill the room they leave, the release being rolled out first, so applying
 * a plan and planning again at the same moment gives nothing more to do.
 */
export function plan(
  target: FleetTarget,
  observed: readonly PlannedInstanceView[],
  now: number,
): Plan {
  const judge = judgeOf(target, now);
  const live = observed.filter((i) => LIVE.has(i.state));
  const stops = decideStops(target, observed, live, judge);
  const stopping = new Set(stops.stop.map((s) => s.id));
  const remaining = live.filter((i) => !stopping.has(i.id));
  const starts = decideStarts(target, observed, remaining, judge);
  return {
    start: starts.start,
    stop: stops.stop,
    keep: remaining.map((i) => i.id),
    reasons: [...stops.reasons, ...starts.reasons],
  };
}

/** How the planner judges instances against the target at `now`. */
interface Judge {
  /** Why an instance must be replaced whatever its release's share, or null. */
  readonly replaceReason: (i: PlannedInstanceView) => StopReason | null;
  readonly ready: (i: PlannedInstanceView) => boolean;
  /** A release's instances that stay on their own merits. */
  readonly currentOf: (
    xs: readonly PlannedInstanceView[],
    release: string,
  ) => PlannedInstanceView[];
}

function judgeOf(target: FleetTarget, now: number): Judge {
  const share = new Map(target.releases.map((r) => [r.release, r]));
  const aged = (i: PlannedInstanceView) =>
    target.maxInstanceAgeMs !== null &&
    i.startedAt !== null &&
    now - i.startedAt >= target.maxInstanceAgeMs;
  const replaceReason = (i: PlannedInstanceView): StopReason | null =>
    i.tainted
      ? 'tainted'
      : i.state === 'unhealthy'
        ? 'unhealthy' // replaced, never repaired in place
        : !share.has(i.release)
          ? 'old-release'
          : aged(i)
            ? 'aged'
            : null;
  return {
    replaceReason,
    ready: (i) => isReady(i, target, now),
    currentOf: (xs, release) =>
      xs.filter((i) => i.release === release && replaceReason(i) === null),
  };
}

/** Stops: dead instances at once; the rest by urgency, within the availability budget. */
function decideStops(
  target: FleetTarget,
  observed: readonly PlannedInstanceView[],
  live: readonly PlannedInstanceView[],
  judge: Judge,
): { stop: { id: string; reason: StopReason }[]; reasons: string[] } {
  const { ready } = judge;
  const stop: { id: string; reason: StopReason }[] = [];
  for (const i of observed) if (!LIVE.has(i.state)) stop.push({ id: i.id, reason: 'gone' });
  const candidates = stopCandidates(target, live, judge);
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
  return {
    stop,
    reasons:
      waiting > 0
        ? [`availability budget: ${waiting} instance(s) keep serving until replacements are ready`]
        : [],
  };
}

/** Live instances that should go: replaced on their own merits, or beyond their share. */
function stopCandidates(
  target: FleetTarget,
  live: readonly PlannedInstanceView[],
  { replaceReason, ready, currentOf }: Judge,
): { i: PlannedInstanceView; reason: StopReason }[] {
  const rollingOut = target.releases[0]?.release;
  // A refused release that is short of its share would leave a gap nobody fills: then
  // nothing is displaced for its sake.
  const blocked = target.releases.some(
    (r) => (!r.admitted || r.held !== undefined) && currentOf(live, r.release).length < r.count,
  );
  const candidates: { i: PlannedInstanceView; reason: StopReason }[] = [];
  for (const i of live) {
    const reason = replaceReason(i);
    // Held by a break-glass session: replaced already, stopped when the session ends.
    if (reason !== null && (!blocked || reason === 'tainted') && i.held !== true)
      candidates.push({ i, reason });
  }
  for (const r of target.releases) {
    const current = currentOf(live, r.release);
    if (current.length > r.count)
      candidates.push(
        ...[...current]
          // the least useful first: not ready, then the youngest
          .sort(
            (a, b) =>
              Number(ready(a)) - Number(ready(b)) ||
              (b.startedAt ?? 0) - (a.startedAt ?? 0) ||
              (a.id < b.id ? -1 : 1),
          )
          .slice(0, current.length - r.count)
          .map((i) => ({
            i,
            // A canary step that moves on shrinks the release it replaces.
            reason: r.release === rollingOut ? ('surplus' as const) : ('old-release' as const),
          })),
      );
  }
  return candidates;
}

/** Starts: each release up to its share, in the room the stops leave under the ceiling. */
function decideStarts(
  target: FleetTarget,
  observed: readonly PlannedInstanceView[],
  remaining: readonly PlannedInstanceView[],
  { currentOf }: Judge,
): { start: { id: string; release: string }[]; reasons: string[] } {
  const reasons: string[] = [];
  let room = Math.max(0, target.replicas + target.maxSurge - remaining.length);
  const start: { id: string; release: string }[] = [];
  const taken = new Set(observed.map((i) => i.id));
  let short = 0;
  for (const r of target.releases) {
    const wanted = Math.max(0, r.count - currentOf(remaining, r.release).length);
    if (wanted === 0) continue;
    if (!r.admitted) {
      reasons.push(
        `release ${r.release.replace(/^sha256:/, '').slice(0, 12)} is refused by admission: nothing of it is started`,
      );
      continue;
    }
    if (r.held !== undefined) {
      reasons.push(r.held);
      continue;
    }
    const count = Math.min(wanted, room);
    short += wanted - count;
    room -= count;
    for (let n = 0, started = 0; started < count; n++) {
      const id = instanceName(target.fleet, r.release, n);
      if (!taken.has(id)) {
        taken.add(id);
        start.push({ id, release: r.release });
        started++;
      }
    }
  }
  if (short > 0) reasons.push(`surge budget: ${short} start(s) wait for room`);
  return { start, reasons };
}
