import { rollingBudgets, type FleetSpec } from '../core/fleet/spec.js';
import { isReady, plan } from '../core/planner/plan.js';
import type { Digest } from '../domain/digest.js';
import type { FleetTarget, PlannedInstanceView } from '../domain/fleet.js';
import type { DesiredInstance, ObservedInstance } from '../domain/instance.js';
import type { FleetRecord, FleetStore } from '../ports/fleet-store.js';

/** What the controller needs of the host agent (in-process now, over HTTP later). */
export interface AgentApi {
  apply(desired: readonly DesiredInstance[]): Promise<ObservedInstance[]>;
  observe(): Promise<ObservedInstance[]>;
}

export interface ControllerDeps {
  readonly fleets: FleetStore;
  readonly agent: AgentApi;
  /** Whether admission allows an artifact now (policy and signatures; cached by caller). */
  readonly admitted: (artifact: Digest) => Promise<boolean>;
  readonly now: () => number;
}

export interface FleetStatus {
  readonly fleet: FleetRecord;
  readonly instances: readonly ObservedInstance[];
  readonly reasons: readonly string[];
}

function toView(i: ObservedInstance): PlannedInstanceView {
  return {
    id: i.id,
    release: i.release ?? '',
    state: i.state,
    startedAt: i.startedAt ? Date.parse(i.startedAt) : null,
    healthySince: i.healthySince ? Date.parse(i.healthySince) : null,
    tainted: false,
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

  constructor(private readonly deps: ControllerDeps) {}

  status(): readonly FleetStatus[] {
    return this.last;
  }

  async reconcile(): Promise<FleetStatus[]> {
    const now = this.deps.now();
    const observed = await this.deps.agent.observe();
    const desired: DesiredInstance[] = [];
    const statuses: FleetStatus[] = [];
    for (const fleet of await this.deps.fleets.fleets()) {
      const spec = fleet.spec as FleetSpec;
      const mine = observed.filter((i) => i.fleet === fleet.name);
      const rolling =
        'rolling' in spec.strategy ? spec.strategy.rolling : { maxSurge: 1, maxUnavailable: 0 };
      const budgets = rollingBudgets(spec.replicas, rolling);
      const target: FleetTarget = {
        fleet: fleet.name,
        release: fleet.release,
        admitted: await this.deps.admitted(fleet.artifact),
        replicas: spec.replicas,
        ...budgets,
        minReadyMs: spec.minReadySeconds * 1000,
        maxInstanceAgeMs: spec.maxInstanceAge ?? null,
      };
      const p = plan(target, mine.map(toView), now);

      // Instances that stay keep exactly what they were started with.
      const stopping = new Set(p.stop.map((s) => s.id));
      for (const i of mine)
        if (!stopping.has(i.id)) {
          const rel = i.release ? await this.deps.fleets.release(i.release as Digest) : null;
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

      await this.judgeRollout(fleet, spec, mine, target, now);
      statuses.push({ fleet, instances: mine, reasons: p.reasons });
    }
    // Instances of fleets that no longer exist are not desired: the agent stops them.
    await this.deps.agent.apply(desired);
    this.last = statuses;
    return statuses;
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
      resources: {
        ...(spec.resources.memory !== undefined && { memoryBytes: spec.resources.memory }),
        ...(spec.resources.cpus !== undefined && { cpus: spec.resources.cpus }),
        ...(spec.resources.pids !== undefined && { pids: spec.resources.pids }),
      },
    };
  }

  /** Complete, or roll back by itself when the new release fails or misses its deadline. */
  private async judgeRollout(
    fleet: FleetRecord,
    spec: FleetSpec,
    mine: readonly ObservedInstance[],
    target: FleetTarget,
    now: number,
  ): Promise<void> {
    if (fleet.rollout !== 'progressing') return;
    const current = mine.filter((i) => i.release === fleet.release);
    const views = current.map(toView);
    const ready = views.filter((v) => isReady(v, target, now)).length;
    if (!target.admitted) {
      await this.deps.fleets.setRollout(
        fleet.name,
        'refused',
        'admission refuses the artifact',
        now,
      );
      return;
    }
    if (ready >= spec.replicas && mine.length === current.length) {
      await this.deps.fleets.setRollout(fleet.name, 'complete', null, now);
      return;
    }
    const failed = current.filter(
      (i) => i.state === 'failed' || i.state === 'unhealthy' || i.state === 'refused',
    );
    const late = now - fleet.rolloutStartedAt > spec.progressDeadline;
    if ((failed.length > 0 || late) && spec.autoRollback && fleet.previous) {
      const why =
        failed.length > 0
          ? `${failed[0]!.id} is ${failed[0]!.state}${failed[0]!.reason ? `: ${failed[0]!.reason}` : ''}`
          : `not ready within the progress deadline (${spec.progressDeadline / 1000} s)`;
      await this.deps.fleets.rollBack(fleet.name, why, now);
    }
  }
}
