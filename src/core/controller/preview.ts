import type { Plan, StopReason } from '../../domain/fleet.js';
import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetRecord, ReleaseRecord } from '../fleet/record.js';
import { stepCount } from '../planner/strategy.js';
import { LIVE } from '../planner/plan.js';
import { EMPTY_MEMORY } from './memory.js';
import { planFleet } from './plan-fleet.js';
import { shapeOf } from './shape.js';

/** What a rollout would do to a fleet's instances, in the planner's words. */
export interface RolloutPreview {
  /** The controller's next pass, as it would decide it now: its plan and its reasons. */
  readonly next: Plan;
  /** Where the rollout would stand then: "canary step 1/2: 1 of 4 on the new release". */
  readonly phase: string;
  /** Every step it would go through, in order, the last being the full shape. */
  readonly steps: readonly string[];
  /** To its end, if every new instance turns ready: what starts, what stops and why, what stays. */
  readonly start: readonly { readonly id: string; readonly release: string }[];
  readonly stop: readonly {
    readonly id: string;
    readonly release: string | null;
    readonly reason: StopReason;
  }[];
  readonly stay: readonly string[];
}

/** Past this many passes the simulation gives up (the planner converges far sooner). */
const MAX_PASSES = 10_000;

/**
 * The rollout `fleet` (as a deploy would write it) would make of `observed`, by the planner
 * itself: its next pass as the controller would decide it, then every pass to the end with
 * each step taken and every new instance assumed ready at once (pauses and health are not
 * foreseen). Admission is taken as allowing every release the shapes ask for: the new one
 * was just admitted, the others run. Pure.
 */
export function previewRollout(
  fleet: FleetRecord,
  observed: readonly ObservedInstance[],
  releases: ReadonlyMap<string, ReleaseRecord>,
  now: number,
): RolloutPreview {
  const pass = (f: FleetRecord, mine: readonly ObservedInstance[]) =>
    planFleet({
      fleet: f,
      mine,
      admitted: new Map(shapeOf(f).releases.map((r) => [r.release, true])),
      releases,
      memory: EMPTY_MEMORY,
      now,
    });
  const mine = observed.filter((i) => i.fleet === fleet.name);
  const first = pass(fleet, mine);
  const live = mine.filter((i) => LIVE.has(i.state));
  const steps: string[] = [];
  let sim: ObservedInstance[] = [...mine];
  const started = new Map<string, string>();
  const stopped = new Map<string, StopReason>();
  // Each step in turn to the final shape (a first deploy, a rescale: the final one at once).
  for (let step = fleet.step; ; step++) {
    const at: FleetRecord = { ...fleet, step };
    const shape = shapeOf(at);
    steps.push(shape.label);
    for (let n = 0; n < MAX_PASSES; n++) {
      const p = pass(at, sim).plan;
      if (p.start.length === 0 && p.stop.length === 0) break;
      const going = new Set(p.stop.map((s) => s.id));
      for (const s of p.stop) if (s.reason !== 'gone') stopped.set(s.id, s.reason);
      sim = sim.filter((i) => !going.has(i.id));
      for (const s of p.start) {
        started.set(s.id, s.release);
        sim.push(readyInstance(fleet, s.id, s.release, now));
      }
    }
    if (shape.final || step >= stepCount(fleet.spec)) break;
  }
  const remaining = new Set(sim.map((i) => i.id));
  return {
    next: first.plan,
    phase: first.phase,
    steps,
    // An instance started and stopped again on the way (a surplus) is neither.
    start: [...started]
      .filter(([id]) => remaining.has(id))
      .map(([id, release]) => ({ id, release })),
    stop: live
      .filter((i) => stopped.has(i.id))
      .map((i) => ({ id: i.id, release: i.release ?? null, reason: stopped.get(i.id)! })),
    stay: live.filter((i) => remaining.has(i.id)).map((i) => i.id),
  };
}

/** A started instance as the next pass would see it once ready (healthy for minReady). */
function readyInstance(
  fleet: FleetRecord,
  id: string,
  release: string,
  now: number,
): ObservedInstance {
  const since = new Date(now - fleet.spec.minReadySeconds * 1000).toISOString();
  return {
    id,
    fleet: fleet.name,
    artifact: fleet.artifact,
    release,
    state: 'healthy',
    startedAt: since,
    healthySince: since,
    integrity: 'verified',
  };
}
