import { desiredInstance, withGrace } from '../../core/controller/plan-fleet.js';
import type { FleetRecord, ReleaseRecord } from '../../core/fleet/record.js';
import type { FleetSpec } from '../../core/fleet/spec.js';
import {
  DEFAULT_DRAIN,
  edgeFleetOf,
  gateStops,
  isReadyForTraffic,
  ROUTABLE,
  observeTraffic,
  trafficKey,
  type DrainPolicy,
  type EdgeFleet,
  type ObservedTraffic,
  type TrafficBaseline,
} from '../../core/traffic/index.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import type { EdgePort } from '../../ports/edge.js';
import type { FleetStatus } from './index.js';

export interface TrafficPass {
  /** The desired set with the instances whose stops wait for their drains. */
  readonly desired: DesiredInstance[];
  /** Per fleet: why the edge could not do all the rollout asks. */
  readonly reasons: ReadonlyMap<string, readonly string[]>;
  /** Per fleet: what its live listen answered since its step began. */
  readonly traffic: ReadonlyMap<string, ObservedTraffic>;
}

/**
 * The edge's part of a reconcile pass: instances that took requests drain before they stop
 * (core/traffic/drain.ts), and the edge is given what every fleet with a service should
 * serve now (core/traffic/edge-of.ts). What drains is kept between passes in memory: after a
 * restart an instance still to stop drains again from the start, which costs time, not
 * requests.
 */
export class Traffic {
  private draining: ReadonlyMap<string, number> = new Map();
  private baselines = new Map<string, TrafficBaseline>();
  private seen = new Map<string, ObservedTraffic>();

  constructor(
    private readonly edge: EdgePort,
    private readonly policy: DrainPolicy = DEFAULT_DRAIN,
  ) {}

  /**
   * What the fleet's listen answered this step, as the last pass counted it: none when the
   * fleet has moved on since (another release or step), so a step is never judged on the
   * counts of the one before.
   */
  observed(fleet: FleetRecord): ObservedTraffic | undefined {
    const baseline = this.baselines.get(fleet.name);
    if (baseline?.key !== trafficKey(fleet)) return undefined;
    return this.seen.get(fleet.name);
  }

  async pass(
    statuses: readonly FleetStatus[],
    desired: readonly DesiredInstance[],
    releaseOf: (digest: string) => Promise<ReleaseRecord | null>,
    now: number,
  ): Promise<TrafficPass> {
    const served = statuses.filter((s) => s.fleet.spec.service !== undefined);
    const reasons = new Map<string, string[]>();
    const say = (fleet: string, why: string) =>
      reasons.set(fleet, [...(reasons.get(fleet) ?? []), why]);
    const running = served.flatMap((s) =>
      s.instances.filter((i) => i.address !== undefined && ROUTABLE.has(i.state)),
    );
    // Nothing served, nothing to count: a home without services asks the edge nothing.
    const counters =
      served.length === 0
        ? []
        : await this.edge.counters().catch((err: unknown) => {
            for (const s of served)
              say(s.fleet.name, `edge: its counters unknown (${messageOf(err)})`);
            return [];
          });
    const sessions = new Map<string, number>();
    for (const c of counters) sessions.set(c.server, (sessions.get(c.server) ?? 0) + c.current);
    const gate = gateStops({
      running: running.map((i) => i.id),
      ready: new Set(
        running
          .filter((i) => !this.draining.has(i.id))
          .filter((i) => isReadyForTraffic(i, minReadyOf(statuses, i) * 1000, now))
          .map((i) => i.id),
      ),
      desired: new Set(desired.map((d) => d.id)),
      draining: this.draining,
      sessions: (id) => sessions.get(id),
      now,
      policy: this.policy,
    });
    const hold = new Set(gate.hold);
    const fleets: EdgeFleet[] = [];
    const traffic = new Map<string, ObservedTraffic>();
    const baselines = new Map<string, TrafficBaseline>();
    const drainingIds = new Set(gate.draining.keys());
    for (const s of served) {
      const seen = observeTraffic(s.fleet, s.instances, counters, this.baselines.get(s.fleet.name));
      traffic.set(s.fleet.name, seen.traffic);
      baselines.set(s.fleet.name, seen.baseline);
      const view = edgeFleetOf(s.fleet, s.instances, drainingIds, now);
      if (view === null) continue;
      fleets.push(view.edge);
      for (const why of view.reasons) say(s.fleet.name, why);
    }
    let draining = gate.draining;
    try {
      await this.edge.apply({ fleets });
    } catch (err) {
      for (const s of served) say(s.fleet.name, `edge: ${messageOf(err)}`);
      // A drain the edge was not told of has not begun: its instance waits, and its clock
      // starts once an apply carries it.
      const fresh = [...gate.draining.keys()].filter((id) => !this.draining.has(id));
      for (const id of fresh) hold.add(id);
      draining = new Map([...gate.draining].filter(([id]) => !fresh.includes(id)));
    }
    this.draining = draining;
    this.baselines = baselines;
    this.seen = traffic;
    const specOf = new Map(statuses.map((s) => [s.fleet.name, s.fleet.spec]));
    const held = await heldInstances(running, hold, releaseOf, specOf);
    return { desired: [...desired, ...held], reasons, traffic };
  }
}

function minReadyOf(statuses: readonly FleetStatus[], i: ObservedInstance): number {
  return statuses.find((s) => s.fleet.name === i.fleet)?.fleet.spec.minReadySeconds ?? 0;
}

/** The instances whose stops wait, as they were started (their release's settings). */
async function heldInstances(
  running: readonly ObservedInstance[],
  hold: ReadonlySet<string>,
  releaseOf: (digest: string) => Promise<ReleaseRecord | null>,
  fleetSpecOf: ReadonlyMap<string, FleetSpec>,
): Promise<DesiredInstance[]> {
  const out: DesiredInstance[] = [];
  for (const i of running) {
    if (!hold.has(i.id) || i.release === undefined) continue;
    const release = await releaseOf(i.release);
    // A release the store lost cannot be restarted from, but the instance runs: it stops.
    if (release === null) continue;
    // As the planner keeps an instance that stays: its release's settings, the fleet's grace.
    const d = desiredInstance(i.id, i.fleet, i.artifact, i.release, release.spec);
    const fleetSpec = fleetSpecOf.get(i.fleet);
    out.push(fleetSpec ? withGrace(d, fleetSpec) : d);
  }
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
