import type { FleetSpec } from '../core/fleet/spec.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import { inMeltdown } from '../core/planner/meltdown.js';
import { LIVE, plan } from '../core/planner/plan.js';
import {
  decideStep,
  rolloutShape,
  shapeReached,
  type RolloutShape,
  type StepDecision,
} from '../core/planner/strategy.js';
import type { Digest } from '../domain/digest.js';
import type { FleetTarget, Plan, PlannedInstanceView } from '../domain/fleet.js';
import type { DesiredInstance, ObservedInstance } from '../domain/instance.js';
import type { FleetRecord, FleetStore, ReleaseRecord } from '../ports/fleet-store.js';

/** What the controller needs of the host agent (in-process now, over HTTP later). */
export interface AgentApi {
  apply(desired: readonly DesiredInstance[]): Promise<ObservedInstance[]>;
  observe(): Promise<ObservedInstance[]>;
}

export interface ControllerDeps {
  readonly fleets: FleetStore;
  readonly agent: AgentApi;
  /**
   * Whether admission allows an artifact now (policy and signatures; cached by the caller),
   * or null when it could not be checked this time (a transient failure is not a verdict).
   */
  readonly admitted: (artifact: Digest) => Promise<boolean | null>;
  readonly now: () => number;
  /** Told of each replacement decided (which instance, and why), for the ledger. */
  readonly record?: (event: LedgerEntryDraft) => void;
}

export interface FleetStatus {
  readonly fleet: FleetRecord;
  /** Where the rollout stands: "canary step 1/3: 1 of 4 on the new release". */
  readonly phase: string;
  readonly instances: readonly ObservedInstance[];
  readonly reasons: readonly string[];
}

function toView(i: ObservedInstance, now: number): PlannedInstanceView {
  return {
    id: i.id,
    release: i.release ?? '',
    state: i.state,
    startedAt: i.startedAt ? Date.parse(i.startedAt) : null,
    healthySince: i.healthySince ? Date.parse(i.healthySince) : null,
    tainted: i.integrity === 'tainted',
    held: i.heldUntil !== undefined && Date.parse(i.heldUntil) > now,
  };
}

/**
 * The reconcile loop, level-triggered: read what should run (the fleet store) and what runs
 * (the agent), plan each fleet, and hand the agent the whole desired set. It never branches
 * on what woke it, so a crash and a restart simply plan again from the same two facts:
 * instance names are deterministic, so nothing starts twice.
 */
export class Controller {
  private last: FleetStatus[] = [];
  /** When instances of each fleet were first seen failed or unhealthy (for the guard). */
  private readonly failures = new Map<string, number[]>();
  private readonly seenFailing = new Set<string>();
  private readonly melting = new Set<string>();
  /** Tainted instances already recorded (once each, however many passes they take to go). */
  private readonly notedTaint = new Set<string>();
  /** Instances whose replacement was recorded. */
  private readonly replacing = new Set<string>();

  constructor(private readonly deps: ControllerDeps) {}

  status(): readonly FleetStatus[] {
    return this.last;
  }

  async reconcile(): Promise<FleetStatus[]> {
    const now = this.deps.now();
    const observed = await this.deps.agent.observe();
    const desired: DesiredInstance[] = [];
    const statuses: FleetStatus[] = [];
    const known = new Set<string>();
    // Each release read once a pass, however many of its instances stay.
    const releases = new Map<Digest, Promise<ReleaseRecord | null>>();
    const releaseOf = (digest: Digest) => {
      let found = releases.get(digest);
      if (!found) releases.set(digest, (found = this.deps.fleets.release(digest)));
      return found;
    };
    for (const listed of await this.deps.fleets.fleets()) {
      known.add(listed.name);
      const mine = observed.filter((i) => i.fleet === listed.name);
      const admitted = await this.deps.admitted(listed.artifact);
      // Judged before planning: a release rolled back now starts nothing more this pass.
      const fleet = (await this.judgeRollout(listed, mine, admitted, now)) ?? listed;
      const spec = fleet.spec as FleetSpec;
      const shape = shapeOf(fleet);
      const target: FleetTarget = {
        fleet: fleet.name,
        releases: await Promise.all(
          shape.releases.map(async (r) => ({
            ...r,
            // Unknown this pass: start nothing of it, stop nothing for its sake.
            admitted:
              (r.release === listed.release
                ? admitted
                : await this.admittedRelease(r.release as Digest, releaseOf)) === true,
          })),
        ),
        replicas: spec.replicas,
        maxSurge: shape.maxSurge,
        maxUnavailable: shape.maxUnavailable,
        minReadyMs: spec.minReadySeconds * 1000,
        maxInstanceAgeMs: spec.maxInstanceAge ?? null,
      };
      await this.noteTaint(fleet.name, mine, now);
      const planned = plan(
        target,
        mine.map((i) => toView(i, now)),
        now,
      );
      const p = (await this.guard(fleet, spec, mine, now)) ? held(planned) : planned;

      this.recordReplacements(fleet.name, mine, p, now);
      // Instances that stay keep exactly what they were started with.
      const stopping = new Set(p.stop.map((s) => s.id));
      for (const i of mine)
        if (!stopping.has(i.id)) {
          const rel = i.release ? await releaseOf(i.release as Digest) : null;
          desired.push(
            this.desiredFor(
              i.id,
              fleet.name,
              i.artifact,
              i.release,
              (rel?.spec ?? spec) as FleetSpec,
            ),
          );
        }
      for (const s of p.start)
        desired.push(this.desiredFor(s.id, fleet.name, fleet.artifact, s.release, spec));
      statuses.push({ fleet, phase: shape.label, instances: mine, reasons: p.reasons });
    }
    // Instances of fleets the store does not know are left alone, never stopped: an empty or
    // lost database must not take every instance down. (They are reported, not managed.)
    for (const i of observed)
      if (!known.has(i.fleet) && i.state !== 'refused' && i.state !== 'failed')
        desired.push({
          id: i.id,
          fleet: i.fleet,
          artifact: i.artifact,
          ...(i.release !== undefined && { release: i.release }),
        });
    await this.deps.agent.apply(desired);
    // Forget instances that are gone: a name reused later counts again if it fails again.
    const present = new Set(observed.map((i) => i.id));
    for (const id of this.seenFailing) if (!present.has(id)) this.seenFailing.delete(id);
    for (const id of this.notedTaint) if (!present.has(id)) this.notedTaint.delete(id);
    for (const id of this.replacing) if (!present.has(id)) this.replacing.delete(id);
    this.last = statuses;
    return statuses;
  }

  /** Each live instance the plan stops, once, with its cause (tainted, old release, …). */
  private recordReplacements(
    fleet: string,
    mine: readonly ObservedInstance[],
    p: Plan,
    now: number,
  ): void {
    for (const s of p.stop) {
      if (s.reason === 'gone' || this.replacing.has(s.id)) continue;
      this.replacing.add(s.id);
      const i = mine.find((x) => x.id === s.id);
      if (!i) continue;
      this.deps.record?.({
        time: now,
        actor: 'controller',
        kind: 'instance-replaced',
        subjects: [i.artifact],
        fleet,
        instance: i.id,
        detail: { cause: s.reason, ...(i.release !== undefined && { release: i.release }) },
      });
    }
  }

  /** Record each newly tainted instance with its first evidence: it is about to be replaced. */
  private async noteTaint(
    fleet: string,
    mine: readonly ObservedInstance[],
    now: number,
  ): Promise<void> {
    for (const i of mine) {
      if (i.integrity !== 'tainted' || this.notedTaint.has(i.id)) continue;
      this.notedTaint.add(i.id);
      const e = i.evidence?.[0];
      const more = (i.evidence?.length ?? 0) - 1;
      await this.deps.fleets.note(
        fleet,
        'taint',
        e
          ? `${i.id}: ${e.detector} ${e.path}: expected ${e.expected}, found ${e.actual}${more > 0 ? ` (+${more} more)` : ''}; replacing it`
          : `${i.id}: tainted; replacing it`,
        now,
        {
          instance: i.id,
          subjects: [i.artifact],
          detail: { evidence: i.evidence?.slice(0, 5) ?? [] },
        },
      );
    }
  }

  /**
   * The meltdown guard: true while too many instances failed recently. Entering and
   * leaving it are recorded in the fleet's history.
   */
  private async guard(
    fleet: FleetRecord,
    spec: FleetSpec,
    mine: readonly ObservedInstance[],
    now: number,
  ): Promise<boolean> {
    const failures = this.failures.get(fleet.name) ?? [];
    for (const i of mine)
      if ((i.state === 'failed' || i.state === 'unhealthy') && !this.seenFailing.has(i.id)) {
        this.seenFailing.add(i.id);
        failures.push(now);
      }
    const window = spec.meltdown?.window ?? 0;
    this.failures.set(
      fleet.name,
      failures.filter((t) => now - t < Math.max(window, 1)),
    );
    const on =
      spec.meltdown !== undefined &&
      inMeltdown(
        this.failures.get(fleet.name)!,
        now,
        { maxFailedPercent: spec.meltdown.maxFailedPercent, windowMs: spec.meltdown.window },
        spec.replicas,
      );
    if (on !== this.melting.has(fleet.name)) {
      if (on) this.melting.add(fleet.name);
      else this.melting.delete(fleet.name);
      await this.deps.fleets.note(
        fleet.name,
        on ? 'meltdown' : 'meltdown-over',
        on
          ? `more than ${spec.meltdown!.maxFailedPercent}% of instances failed within ${spec.meltdown!.window / 1000} s: replacing stops`
          : 'failures left the window: replacing resumes',
        now,
      );
    }
    return on;
  }

  private desiredFor(
    id: string,
    fleet: string,
    artifact: Digest,
    release: string | undefined,
    spec: FleetSpec,
  ): DesiredInstance {
    return {
      id,
      fleet,
      artifact,
      ...(release !== undefined && { release }),
      env: Object.entries(spec.env),
      ...(Object.keys(spec.volumes ?? {}).length > 0 && {
        volumes: Object.entries(spec.volumes).map(([name, v]) => [name, v.source] as const),
      }),
      resources: {
        ...(spec.resources.memory !== undefined && { memoryBytes: spec.resources.memory }),
        ...(spec.resources.cpus !== undefined && { cpus: spec.resources.cpus }),
        ...(spec.resources.pids !== undefined && { pids: spec.resources.pids }),
      },
    };
  }

  /** Admission of another release's artifact (the one a canary or preview keeps). */
  private async admittedRelease(
    release: Digest,
    releaseOf: (d: Digest) => Promise<ReleaseRecord | null>,
  ): Promise<boolean | null> {
    const record = await releaseOf(release);
    return record ? this.deps.admitted(record.artifact) : false;
  }

  /**
   * Move the rollout on: complete it, hold or advance a canary step or a preview, or roll
   * back by itself when the new release fails, is refused, or misses its step's deadline.
   * Returns the fleet as it is after the decision, or null if nothing changed.
   */
  private async judgeRollout(
    fleet: FleetRecord,
    mine: readonly ObservedInstance[],
    admitted: boolean | null,
    now: number,
  ): Promise<FleetRecord | null> {
    if (fleet.rollout !== 'progressing' || admitted === null) return null;
    const spec = fleet.spec as FleetSpec;
    const shape = shapeOf(fleet);
    const minReadyMs = spec.minReadySeconds * 1000;
    // Tainted instances are on their way out: they count neither for nor against a shape.
    const live = mine
      .filter((i) => LIVE.has(i.state) && i.integrity !== 'tainted')
      .map((i) => {
        const v = toView(i, now);
        return {
          release: v.release,
          ready:
            v.state === 'healthy' && v.healthySince !== null && now - v.healthySince >= minReadyMs,
        };
      });
    let why: string | null = null;
    if (!admitted) why = 'admission refuses the artifact';
    else {
      const decision = decideStep(shape, shapeReached(shape, live), fleet.stepReadyAt, now);
      const moved = await this.act(fleet, shape, decision, now);
      if (moved) return this.deps.fleets.fleet(fleet.name);
      const current = mine.filter((i) => i.release === fleet.release);
      const failed = current.find(
        (i) => i.state === 'failed' || i.state === 'unhealthy' || i.state === 'refused',
      );
      if (failed)
        why = `${failed.id} is ${failed.state}${failed.reason ? `: ${failed.reason}` : ''}`;
      else if (decision.kind === 'under-way' && now - fleet.stepStartedAt > spec.progressDeadline)
        why = `${shape.final ? '' : `${shape.label}: `}not ready within the progress deadline (${spec.progressDeadline / 1000} s)`;
    }
    if (why === null) return null;
    if (spec.autoRollback && (fleet.stable ?? fleet.previous) !== null)
      await this.deps.fleets.rollBack(fleet.name, why, now, { from: fleet.release });
    else if (!admitted)
      await this.deps.fleets.setRollout(fleet.name, fleet.release, 'refused', why, now);
    else return null; // nothing to return to: keep replacing within the deadline's account
    return this.deps.fleets.fleet(fleet.name);
  }

  /** Record a step decision; true if the fleet's rollout changed. */
  private async act(
    fleet: FleetRecord,
    shape: RolloutShape,
    decision: StepDecision,
    now: number,
  ): Promise<boolean> {
    const { fleets } = this.deps;
    switch (decision.kind) {
      case 'complete':
        return fleets.setRollout(fleet.name, fleet.release, 'complete', null, now);
      case 'reached':
        return fleets.setStep(
          fleet.name,
          fleet.release,
          {
            from: fleet.step,
            step: fleet.step,
            stepStartedAt: fleet.stepStartedAt,
            stepReadyAt: now,
          },
          now,
          {
            kind: 'step-reached',
            detail:
              shape.pauseMs === null
                ? `${shape.label}: ready, waiting for ingot promote`
                : `${shape.label}: ready${shape.pauseMs > 0 ? `, pausing ${shape.pauseMs / 1000} s` : ''}`,
          },
        );
      case 'advance': {
        const next = shapeOf({ ...fleet, step: fleet.step + 1 });
        return fleets.setStep(
          fleet.name,
          fleet.release,
          { from: fleet.step, step: fleet.step + 1, stepStartedAt: now, stepReadyAt: null },
          now,
          { kind: 'step', detail: next.label },
        );
      }
      case 'under-way':
      case 'paused':
      case 'awaiting-promotion':
        return false;
    }
  }
}

/** The shape the fleet's strategy asks for at its rollout's current step. */
export function shapeOf(fleet: FleetRecord): RolloutShape {
  const base = fleet.stable ?? fleet.previous;
  return rolloutShape(fleet.spec as FleetSpec, {
    release: fleet.release,
    base: base === fleet.release ? fleet.previous : base,
    progressing: fleet.rollout === 'progressing',
    step: fleet.step,
  });
}

/** A plan on hold: dead and tainted instances still go; nothing is started or replaced. */
function held(p: Plan): Plan {
  // Dead instances are cleaned up, and tainted ones still go: the guard holds back churn,
  // never the eviction of an instance that drifted or was accessed.
  const stop = p.stop.filter((s) => s.reason === 'gone' || s.reason === 'tainted');
  const stopping = new Set(stop.map((s) => s.id));
  return {
    start: [],
    stop,
    keep: [...p.keep, ...p.stop.filter((s) => !stopping.has(s.id)).map((s) => s.id)],
    reasons: [...p.reasons, 'meltdown guard: too many recent failures, nothing is replaced'],
  };
}
