import type { Digest } from '../../domain/digest.js';
import type { FleetTarget, Plan } from '../../domain/fleet.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import type { FleetNote, FleetRecord, ReleaseRecord } from '../fleet/record.js';
import type { FleetSpec } from '../fleet/spec.js';
import type { LedgerEntryDraft } from '../ledger/index.js';
import { plan } from '../planner/plan.js';
import { pinnedReference, registryReferenceOf } from '../registry/reference.js';
import { judgeCrashes, type CrashVerdict } from './crash-streaks.js';
import { held, judgeGuard } from './guard.js';
import type { ControllerMemory } from './memory.js';
import { shapeOf } from './shape.js';
import { judgeStarts, type StartVerdict } from './start-failures.js';
import { toView } from './views.js';

/** What one pass knows of a fleet: read by the controller, decided on here. */
export interface FleetPass {
  /** The fleet as it is after its rollout was judged this pass. */
  readonly fleet: FleetRecord;
  readonly mine: readonly ObservedInstance[];
  /** Admission's verdict per release the shape asks for (absent: not known this pass). */
  readonly admitted: ReadonlyMap<string, boolean | null>;
  /** The releases the fleet's instances run, for the settings each was started with. */
  readonly releases: ReadonlyMap<string, ReleaseRecord>;
  readonly memory: ControllerMemory;
  readonly now: number;
}

/** Everything a pass decides for one fleet, as data; the executor applies it. */
export interface FleetDecision {
  /** The fleet's instances that should run after this pass (the agent is told all of them). */
  readonly desired: readonly DesiredInstance[];
  /** History and ledger lines (a taint, entering or leaving the meltdown guard). */
  readonly notes: readonly FleetNote[];
  /** Ledger events with no history line (each replacement decided, with its cause). */
  readonly events: readonly LedgerEntryDraft[];
  /** What the controller remembers of the fleet after this pass. */
  readonly memory: ControllerMemory;
  readonly plan: Plan;
  /** Where the rollout stands, for people: "canary step 1/3: 1 of 4 on the new release". */
  readonly phase: string;
}

/**
 * One fleet's pass: the target its rollout shape asks for, the plan from what runs, the
 * meltdown guard over it, and the records it owes (taints and replacements, each once).
 * Pure: the same pass decided twice decides the same.
 */
export function planFleet(pass: FleetPass): FleetDecision {
  const { fleet, mine, memory, now } = pass;
  const shape = shapeOf(fleet);
  const releases = shape.releases.map((r) => r.release);
  const starts = judgeStarts(fleet.name, releases, memory, mine, now);
  const crashes = judgeCrashes(fleet.name, releases, memory, mine, now);
  const target: FleetTarget = {
    fleet: fleet.name,
    // Unknown this pass: start nothing of it, stop nothing for its sake.
    releases: shape.releases.map((r) => {
      const held = heldBecause(fleet, r.release, starts, crashes);
      return {
        ...r,
        admitted: pass.admitted.get(r.release) === true,
        ...(held !== undefined && { held }),
      };
    }),
    replicas: fleet.spec.replicas,
    maxSurge: shape.maxSurge,
    maxUnavailable: shape.maxUnavailable,
    minReadyMs: fleet.spec.minReadySeconds * 1000,
    maxInstanceAgeMs: fleet.spec.maxInstanceAge ?? null,
  };
  const taints = taintNotes(fleet.name, mine, memory, now);
  const planned = plan(
    target,
    mine.map((i) => toView(i, now)),
    now,
  );
  const guard = judgeGuard(memory, fleet.spec, mine, now);
  const p = guard.on ? held(planned) : planned;
  const replaced = replacementEvents(fleet.name, mine, p, memory, now);
  const present = new Set(mine.map((i) => i.id));
  return {
    desired: desiredOf(pass, p),
    notes: [
      ...taints.notes,
      ...starts.notes,
      ...crashes.notes,
      ...(guard.change
        ? [{ fleet: fleet.name, time: now, actor: 'controller', ...guard.change }]
        : []),
    ],
    events: replaced.events,
    memory: {
      failures: guard.failures,
      counted: guard.counted,
      melting: guard.on,
      taintNoted: taints.noted.filter((id) => present.has(id)),
      replacementNoted: replaced.noted.filter((id) => present.has(id)),
      startStreaks: starts.streaks,
      crashStreaks: crashes.streaks,
      crashCounted: crashes.counted,
      startCounted: starts.counted,
    },
    plan: p,
    phase: shape.label,
  };
}

/**
 * Why nothing of `release` is started now: its rollout failed (a deploy tries it again), or
 * its last starts failed, or its instances crash, and their back-off lasts.
 */
function heldBecause(
  fleet: FleetRecord,
  release: string,
  starts: StartVerdict,
  crashes: CrashVerdict,
): string | undefined {
  if (fleet.rollout === 'failed' && release === fleet.release)
    return `the rollout failed (${fleet.reason ?? 'no reason recorded'}): nothing of it is started until it is deployed again`;
  return starts.held.get(release) ?? crashes.held.get(release);
}

/** Each newly tainted instance with its first evidence: it is about to be replaced. */
function taintNotes(
  fleet: string,
  mine: readonly ObservedInstance[],
  memory: ControllerMemory,
  now: number,
): { notes: FleetNote[]; noted: string[] } {
  const noted = new Set(memory.taintNoted);
  const notes: FleetNote[] = [];
  for (const i of mine) {
    if (i.integrity !== 'tainted' || noted.has(i.id)) continue;
    noted.add(i.id);
    const e = i.evidence?.[0];
    const more = (i.evidence?.length ?? 0) - 1;
    notes.push({
      fleet,
      time: now,
      kind: 'taint',
      summary: e
        ? `${i.id}: ${e.detector} ${e.path}: expected ${e.expected}, found ${e.actual}${more > 0 ? ` (+${more} more)` : ''}; replacing it`
        : `${i.id}: tainted; replacing it`,
      actor: 'controller',
      instance: i.id,
      subjects: [i.artifact],
      detail: { evidence: i.evidence?.slice(0, 5) ?? [] },
    });
  }
  return { notes, noted: [...noted] };
}

/** Each live instance the plan stops, once, with its cause (tainted, old release, …). */
function replacementEvents(
  fleet: string,
  mine: readonly ObservedInstance[],
  p: Plan,
  memory: ControllerMemory,
  now: number,
): { events: LedgerEntryDraft[]; noted: string[] } {
  const noted = new Set(memory.replacementNoted);
  const events: LedgerEntryDraft[] = [];
  for (const s of p.stop) {
    if (s.reason === 'gone' || noted.has(s.id)) continue;
    noted.add(s.id);
    const i = mine.find((x) => x.id === s.id);
    if (!i) continue;
    events.push({
      time: now,
      actor: 'controller',
      kind: 'instance-replaced',
      subjects: [i.artifact],
      fleet,
      instance: i.id,
      detail: { cause: s.reason, ...(i.release !== undefined && { release: i.release }) },
    });
  }
  return { events, noted: [...noted] };
}

/** What should run: instances that stay keep exactly what they were started with. */
function desiredOf(pass: FleetPass, p: Plan): DesiredInstance[] {
  const { fleet, mine, releases } = pass;
  const stopping = new Set(p.stop.map((s) => s.id));
  const desired: DesiredInstance[] = [];
  for (const i of mine)
    if (!stopping.has(i.id)) {
      const spec = (i.release !== undefined && releases.get(i.release)?.spec) || fleet.spec;
      desired.push(
        withGrace(desiredInstance(i.id, fleet.name, i.artifact, i.release, spec), fleet.spec),
      );
    }
  for (const s of p.start)
    desired.push(desiredInstance(s.id, fleet.name, fleet.artifact, s.release, fleet.spec));
  return desired;
}

/**
 * The fleet's grace now, whatever release an instance runs: it paces stops and is no part of
 * the release, so a fleet that shortens it stops its old instances with the new grace.
 */
export function withGrace(d: DesiredInstance, spec: FleetSpec): DesiredInstance {
  const { stopGraceMs: _old, ...rest } = d;
  return { ...rest, ...(spec.stopGrace !== undefined && { stopGraceMs: spec.stopGrace }) };
}

/** An instance of a release, with the settings of its spec. Pure. */
export function desiredInstance(
  id: string,
  fleet: string,
  artifact: Digest,
  release: string | undefined,
  spec: FleetSpec,
): DesiredInstance {
  const registry = registryReferenceOf(spec.artifact);
  return {
    id,
    fleet,
    artifact,
    ...(registry !== null && { source: pinnedReference(registry, artifact) }),
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
    ...(spec.stopGrace !== undefined && { stopGraceMs: spec.stopGrace }),
  };
}

/**
 * Instances of fleets the store does not know are left alone, never stopped: an empty or
 * lost database must not take every instance down. (They are reported, not managed.) One
 * being stopped already is not wanted back. Pure.
 */
export function unmanaged(
  observed: readonly ObservedInstance[],
  known: ReadonlySet<string>,
): DesiredInstance[] {
  return observed
    .filter(
      (i) =>
        !known.has(i.fleet) &&
        i.state !== 'refused' &&
        i.state !== 'failed' &&
        i.state !== 'stopping',
    )
    .map((i) => ({
      id: i.id,
      fleet: i.fleet,
      artifact: i.artifact,
      ...(i.release !== undefined && { release: i.release }),
    }));
}
