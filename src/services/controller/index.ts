import { judgeRollout, type RolloutDecision } from '../../core/controller/judge-rollout.js';
import { analysisFailure } from '../../core/traffic/analysis.js';
import {
  EMPTY_MEMORY,
  type ControllerMemory,
  type StartStreak,
} from '../../core/controller/memory.js';
import { planFleet, unmanaged } from '../../core/controller/plan-fleet.js';
import { shapeOf } from '../../core/controller/shape.js';
import { judgeStarts } from '../../core/controller/start-failures.js';
import { judgeCrashes } from '../../core/controller/crash-streaks.js';
import type { FleetRecord, ReleaseRecord } from '../../core/fleet/record.js';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import type { Digest } from '../../domain/digest.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import { describeShare, type ObservedTraffic } from '../../core/traffic/observed-share.js';
import type { EdgePort } from '../../ports/edge.js';
import { applyDecision, applyRollout } from './execute.js';
import { Traffic } from './traffic.js';

/** What the controller needs of the host agent (in-process now, over HTTP later). */
export interface AgentApi {
  /**
   * Make the host run `desired`. With `settle: false` it resolves once the agent took the
   * set (stops done, starts queued as pending instances), not when every start ended.
   */
  apply(
    desired: readonly DesiredInstance[],
    options?: { readonly settle?: boolean },
  ): Promise<ObservedInstance[]>;
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
  /** The edge in front of fleets with a service (traffic.ts); without it none is routed. */
  readonly edge?: EdgePort;
}

export interface FleetStatus {
  readonly fleet: FleetRecord;
  /** Where the rollout stands: "canary step 1/3: 1 of 4 on the new release". */
  readonly phase: string;
  readonly instances: readonly ObservedInstance[];
  readonly reasons: readonly string[];
  /** Through the edge, for a fleet with a service: what it answered since its step began. */
  readonly traffic?: ObservedTraffic;
}

/**
 * The reconcile loop, level-triggered: read what should run (the fleet store) and what runs
 * (the agent), decide each fleet (pure: `core/controller`), apply the decisions, and hand the
 * agent the whole desired set. It never branches on what woke it and keeps nothing between
 * passes that the store does not: a crash and a restart plan again from the same facts, and
 * instance names are deterministic, so nothing starts twice.
 */
export class Controller {
  private last: FleetStatus[] = [];
  private readonly traffic: Traffic | null;

  constructor(private readonly deps: ControllerDeps) {
    this.traffic = deps.edge ? new Traffic(deps.edge) : null;
  }

  status(): readonly FleetStatus[] {
    return this.last;
  }

  async reconcile(): Promise<FleetStatus[]> {
    const { fleets, agent } = this.deps;
    const now = this.deps.now();
    const observed = await agent.observe();
    const memories = await fleets.memories();
    const releases = new ReleaseReader(fleets);
    const desired: DesiredInstance[] = [];
    const statuses: FleetStatus[] = [];
    const known = new Set<string>();
    for (const listed of await fleets.fleets()) {
      known.add(listed.name);
      const mine = observed.filter((i) => i.fleet === listed.name);
      const admitted = await this.deps.admitted(listed.artifact);
      const memory = memories.get(listed.name) ?? EMPTY_MEMORY;
      // Judged before planning: a release rolled back now starts nothing more this pass.
      const judged = judgeRollout(
        listed,
        mine,
        admitted,
        now,
        startStreak(listed, memory, mine, now),
        judgeCrashes(listed.name, [listed.release], memory, mine, now).streaks[0],
        // The edge's counts as the last pass read them, for this very step.
        analysisFailure(listed, this.traffic?.observed(listed)),
      );
      const fleet = judged
        ? await applyRollout(fleets, listed, withShare(judged, this.traffic?.observed(listed)), now)
        : listed;
      const decision = planFleet({
        fleet,
        mine,
        admitted: await this.verdicts(fleet, listed, admitted, releases),
        releases: await releases.of(mine.flatMap((i) => (i.release ? [i.release] : []))),
        memory,
        now,
      });
      await applyDecision(fleets, this.deps.record, fleet.name, memory, decision);
      desired.push(...decision.desired);
      statuses.push({
        fleet,
        phase: decision.phase,
        instances: mine,
        reasons: decision.plan.reasons,
      });
    }
    desired.push(...unmanaged(observed, known));
    const routed = this.traffic
      ? await this.traffic.pass(statuses, desired, (d) => releases.get(d), now)
      : {
          desired,
          reasons: new Map<string, readonly string[]>(),
          traffic: new Map<string, ObservedTraffic>(),
        };
    // Not held up by starts: the next pass sees them pending and plans on (level-triggered).
    await agent.apply(routed.desired, { settle: false });
    this.last = statuses.map((s) => {
      const more = routed.reasons.get(s.fleet.name) ?? [];
      const traffic = routed.traffic.get(s.fleet.name);
      return {
        ...s,
        reasons: [...s.reasons, ...more],
        ...(traffic !== undefined && { traffic }),
      };
    });
    return this.last;
  }

  /**
   * Admission's verdict on each release the fleet's shape asks for: the release being
   * rolled out was judged already; another one (the release a canary or preview keeps)
   * by its artifact.
   */
  private async verdicts(
    fleet: FleetRecord,
    listed: FleetRecord,
    admitted: boolean | null,
    releases: ReleaseReader,
  ): Promise<Map<string, boolean | null>> {
    const verdicts = new Map<string, boolean | null>();
    for (const { release } of shapeOf(fleet).releases) {
      if (release === listed.release) verdicts.set(release, admitted);
      else {
        const record = await releases.get(release);
        verdicts.set(release, record ? await this.deps.admitted(record.artifact) : false);
      }
    }
    return verdicts;
  }
}

/**
 * A step's line in the history says what its release actually got through the edge: the
 * share of requests it answered during the step that ends, beside the weight asked for.
 */
function withShare(
  decision: RolloutDecision,
  traffic: ObservedTraffic | undefined,
): RolloutDecision {
  const said = traffic && describeShare(traffic);
  if (decision.kind !== 'step' || !said) return decision;
  return { ...decision, why: { ...decision.why, detail: `${decision.why.detail} (${said})` } };
}

/** The streak of failed starts of the release being rolled out, as this pass sees it. */
function startStreak(
  fleet: FleetRecord,
  memory: ControllerMemory,
  mine: readonly ObservedInstance[],
  now: number,
): StartStreak | undefined {
  return judgeStarts(fleet.name, [fleet.release], memory, mine, now).streaks[0];
}

/** Each release read once a pass, however many of its instances stay. */
class ReleaseReader {
  private readonly read = new Map<string, Promise<ReleaseRecord | null>>();

  constructor(private readonly fleets: FleetStore) {}

  get(digest: string): Promise<ReleaseRecord | null> {
    let found = this.read.get(digest);
    if (!found) this.read.set(digest, (found = this.fleets.release(digest as Digest)));
    return found;
  }

  async of(digests: readonly string[]): Promise<Map<string, ReleaseRecord>> {
    const found = new Map<string, ReleaseRecord>();
    for (const d of new Set(digests)) {
      const r = await this.get(d);
      if (r) found.set(d, r);
    }
    return found;
  }
}
