import { desiredInstance } from '../../core/controller/plan-fleet.js';
import type { ReleaseRecord } from '../../core/fleet/record.js';
import {
  DEFAULT_DRAIN,
  edgeFleetOf,
  gateStops,
  isReadyForTraffic,
  type DrainPolicy,
  type EdgeFleet,
} from '../../core/traffic/index.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import type { EdgePort } from '../../ports/edge.js';
import type { FleetStatus } from './index.js';

/** States in which an instance's process may still be answering requests. */
const ANSWERING = new Set(['starting', 'healthy', 'unhealthy']);

export interface TrafficPass {
  /** The desired set with the instances whose stops wait for their drains. */
  readonly desired: DesiredInstance[];
  /** Per fleet: why the edge could not do all the rollout asks. */
  readonly reasons: ReadonlyMap<string, readonly string[]>;
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

  constructor(
    private readonly edge: EdgePort,
    private readonly policy: DrainPolicy = DEFAULT_DRAIN,
  ) {}

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
      s.instances.filter((i) => i.address !== undefined && ANSWERING.has(i.state)),
    );
    const sessions = await this.edge.sessions().catch((err: unknown) => {
      for (const s of served) say(s.fleet.name, `edge: open sessions unknown (${messageOf(err)})`);
      return new Map<string, number>();
    });
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
    this.draining = gate.draining;
    const held = await heldInstances(running, gate.hold, releaseOf);
    const fleets: EdgeFleet[] = [];
    for (const s of served) {
      const view = edgeFleetOf(s.fleet, s.instances, new Set(gate.draining.keys()), now);
      if (view === null) continue;
      fleets.push(view.edge);
      for (const why of view.reasons) say(s.fleet.name, why);
    }
    try {
      await this.edge.apply({ fleets });
    } catch (err) {
      for (const s of served) say(s.fleet.name, `edge: ${messageOf(err)}`);
    }
    return { desired: [...desired, ...held], reasons };
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
): Promise<DesiredInstance[]> {
  const out: DesiredInstance[] = [];
  for (const i of running) {
    if (!hold.has(i.id) || i.release === undefined) continue;
    const release = await releaseOf(i.release);
    // A release the store lost cannot be restarted from, but the instance runs: it stops.
    if (release === null) continue;
    out.push(desiredInstance(i.id, i.fleet, i.artifact, i.release, release.spec));
  }
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
