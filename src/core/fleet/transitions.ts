import type { Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type { FleetNote, FleetRecord, FleetState, ReleaseRecord } from './record.js';
import type { FleetSpec } from './spec.js';
import { shapeOf } from '../controller/shape.js';
import { stepCount } from '../planner/strategy.js';

/**
 * Every way a fleet record changes, as pure functions: the store only writes what these
 * return (compare-and-swap on the version they were decided on), so the rules live here,
 * are tested here, and read the same whatever store keeps the records.
 */

/** A write: the fleet's next state and the note that records why. */
export interface FleetChange {
  readonly next: FleetState;
  readonly note: FleetNote;
}

/** Where a step move goes: from `from` (if the rollout is elsewhere by now, nothing moves). */
export interface StepUpdate {
  readonly from: number;
  readonly step: number;
  readonly stepStartedAt: number;
  readonly stepReadyAt: number | null;
}

const firstStep = (at: number) =>
  ({ step: 0, stepStartedAt: at, stepReadyAt: null, pausedAt: null }) as const;

/** A rollout judged afresh from `at`: progressing, at its first step, no reason yet. */
const newRollout = (at: number) =>
  ({ rollout: 'progressing', rolloutStartedAt: at, reason: null, ...firstStep(at) }) as const;

function state({ version: _version, ...rest }: FleetRecord): FleetState {
  return rest;
}

/**
 * Point the fleet at `release`. A new release starts a rollout and remembers the one it
 * replaces; the same release again changes only how many and how fast (and a refused,
 * failed or rolled-back release deployed again is judged again).
 */
export function deployed(
  existing: FleetRecord | null,
  release: ReleaseRecord,
  at: number,
  actor: string,
): FleetChange {
  const starts =
    existing === null ||
    existing.release !== release.digest ||
    existing.rollout === 'refused' ||
    existing.rollout === 'rolled-back' ||
    existing.rollout === 'failed';
  const note: FleetNote = {
    fleet: release.fleet,
    time: at,
    kind: 'deploy',
    summary: release.digest,
    actor,
    subjects: [release.digest, release.artifact],
    // Whether a rollout starts, and how it rolls: the record says it (and /metrics counts it).
    detail: {
      release: release.digest,
      artifact: release.artifact,
      rollout: starts ? 'started' : 'unchanged',
      strategy: strategyName(release.spec),
    },
  };
  if (existing === null)
    return {
      next: {
        name: release.fleet,
        spec: release.spec,
        release: release.digest,
        artifact: release.artifact,
        previous: null,
        stable: null,
        ...newRollout(at),
      },
      note,
    };
  if (existing.release !== release.digest)
    return {
      next: {
        ...state(existing),
        spec: release.spec,
        release: release.digest,
        artifact: release.artifact,
        previous: existing.release,
        ...newRollout(at),
      },
      note,
    };
  return { next: { ...state(existing), spec: release.spec, ...(starts && newRollout(at)) }, note };
}

/** The strategy's name as fleet.yaml spells its key. */
export function strategyName(spec: FleetSpec): 'rolling' | 'canary' | 'blueGreen' {
  return 'canary' in spec.strategy
    ? 'canary'
    : 'blueGreen' in spec.strategy
      ? 'blueGreen'
      : 'rolling';
}

/**
 * The controller's verdict on the rollout of the fleet's release: complete (it becomes the
 * stable release), refused or failed. Null if the rollout is no longer progressing.
 */
export function judged(
  fleet: FleetRecord,
  rollout: 'complete' | 'refused' | 'failed',
  reason: string | null,
  at: number,
): FleetChange | null {
  if (fleet.rollout !== 'progressing') return null;
  return {
    next: {
      ...state(fleet),
      rollout,
      reason,
      // A pause holds a rollout in progress: one that ended holds nothing.
      pausedAt: null,
      ...(rollout === 'complete' && { stable: fleet.release }),
    },
    note: {
      fleet: fleet.name,
      time: at,
      kind: rollout,
      summary: reason ?? '',
      actor: 'controller',
      ledgerKind: `rollout-${rollout}`,
      subjects: [fleet.release],
      detail: { release: fleet.release, ...(reason !== null && { reason }) },
    },
  };
}

/**
 * Move the rollout to another step, recording why. Null if the rollout is not progressing
 * or has left `update.from` (a step reached as a promote moved on is moot).
 */
export function stepped(
  fleet: FleetRecord,
  update: StepUpdate,
  at: number,
  why: { readonly kind: string; readonly detail: string; readonly actor?: string },
): FleetChange | null {
  if (fleet.rollout !== 'progressing' || fleet.step !== update.from) return null;
  return {
    next: {
      ...state(fleet),
      step: update.step,
      stepStartedAt: update.stepStartedAt,
      stepReadyAt: update.stepReadyAt,
      // Only a hand moves a paused rollout (`ingot promote`): going on lifts the pause.
      pausedAt: null,
    },
    note: {
      fleet: fleet.name,
      time: at,
      kind: why.kind,
      summary: why.detail,
      actor: why.actor ?? 'controller',
      subjects: [fleet.release],
      detail: { release: fleet.release, step: update.step },
    },
  };
}

/**
 * Where a rollback goes: the release asked for, else the last release that completed (if it
 * is not the one running), else the one before. Null: there is nothing to go back to.
 */
export function rollbackTarget(fleet: FleetRecord, to?: Digest): Digest | null {
  if (to !== undefined) return to;
  return fleet.stable !== null && fleet.stable !== fleet.release ? fleet.stable : fleet.previous;
}

/** The old release's instance settings, with the fleet's current size and pacing. */
export function rollbackSpec(current: FleetSpec, previous: FleetSpec): FleetSpec {
  return { ...previous, replicas: current.replicas, strategy: current.strategy };
}

/** Point the fleet back at `target`, one of its own releases. */
export function rolledBack(
  fleet: FleetRecord,
  target: ReleaseRecord,
  reason: string,
  at: number,
  actor: string,
): FleetChange {
  return {
    next: {
      ...state(fleet),
      spec: rollbackSpec(fleet.spec, target.spec),
      release: target.digest,
      artifact: target.artifact,
      previous: fleet.release,
      rollout: 'rolled-back',
      rolloutStartedAt: at,
      reason,
      ...firstStep(at),
    },
    note: {
      fleet: fleet.name,
      time: at,
      kind: 'rollback',
      summary: `${fleet.release} → ${target.digest}: ${reason}`,
      actor,
      subjects: [fleet.release, target.digest],
      detail: { from: fleet.release, to: target.digest, reason },
    },
  };
}

/**
 * Pause the rollout by hand: it takes no further step until resumed (a canary step's pause
 * stops counting, the progress deadline too). Only a rollout in progress that has steps to
 * hold: a rolling rollout is one step, which the planner fills as its budgets allow (abort
 * it instead). Throws (E_PAUSE_NONE) when there is nothing to pause.
 */
export function paused(fleet: FleetRecord, at: number, actor: string): FleetChange {
  if (fleet.rollout !== 'progressing')
    throw new IngotError(
      'E_PAUSE_NONE',
      `fleet ${fleet.name} has no rollout in progress (it is ${fleet.rollout}): nothing to pause`,
    );
  if (fleet.pausedAt !== null)
    throw new IngotError(
      'E_PAUSE_NONE',
      `the rollout of fleet ${fleet.name} is paused already: \`ingot resume ${fleet.name}\` lets it go on`,
    );
  if (stepCount(fleet.spec) === 0)
    throw new IngotError(
      'E_PAUSE_NONE',
      `fleet ${fleet.name} rolls without steps (rolling): there is no step to hold; \`ingot abort ${fleet.name}\` stops the rollout and goes back`,
    );
  // The full shape is being filled (the last step, or a first deploy): holding it holds nothing.
  if (shapeOf(fleet).final)
    throw new IngotError(
      'E_PAUSE_NONE',
      `the rollout of fleet ${fleet.name} is past its last step (${shapeOf(fleet).label}): nothing to hold; \`ingot abort ${fleet.name}\` goes back`,
    );
  return {
    next: { ...state(fleet), pausedAt: at },
    note: {
      fleet: fleet.name,
      time: at,
      kind: 'pause',
      summary: `by hand (ingot pause) at ${shapeOf(fleet).label}`,
      actor,
      ledgerKind: 'rollout-paused',
      subjects: [fleet.release],
      detail: { release: fleet.release, step: fleet.step },
    },
  };
}

/**
 * Let a paused rollout go on. The time it was paused is given back: the step's pause and its
 * progress deadline count on from where they stopped, not from the wall clock.
 */
export function resumed(fleet: FleetRecord, at: number, actor: string): FleetChange {
  if (fleet.rollout !== 'progressing' || fleet.pausedAt === null)
    throw new IngotError(
      'E_RESUME_NONE',
      `fleet ${fleet.name} has no paused rollout (it is ${fleet.rollout}${fleet.rollout === 'progressing' ? ', not paused' : ''}): nothing to resume`,
    );
  const held = Math.max(0, at - fleet.pausedAt);
  return {
    next: {
      ...state(fleet),
      pausedAt: null,
      stepStartedAt: fleet.stepStartedAt + held,
      stepReadyAt: fleet.stepReadyAt === null ? null : fleet.stepReadyAt + held,
    },
    note: {
      fleet: fleet.name,
      time: at,
      kind: 'resume',
      summary: `by hand (ingot resume) after ${Math.round(held / 1000)} s paused`,
      actor,
      ledgerKind: 'rollout-resumed',
      subjects: [fleet.release],
      detail: { release: fleet.release, step: fleet.step, pausedMs: held },
    },
  };
}

/**
 * Stop the rollout in progress and go back to the last stable release (what an automatic
 * rollback does, asked for by hand). Unlike `rollback`, which moves any fleet to any of its
 * releases, abort only ends a rollout: with none in progress, or nothing to go back to, it
 * is refused. `target` is the release rollbackTarget(fleet) names, as the store has it.
 */
export function aborted(
  fleet: FleetRecord,
  target: ReleaseRecord | null,
  at: number,
  actor: string,
): FleetChange {
  if (fleet.rollout !== 'progressing')
    throw new IngotError(
      'E_ABORT_NONE',
      `fleet ${fleet.name} has no rollout in progress (it is ${fleet.rollout}): nothing to abort; \`ingot rollback ${fleet.name}\` goes back to an earlier release`,
    );
  if (target === null || rollbackTarget(fleet) !== target.digest || target.fleet !== fleet.name)
    throw new IngotError(
      'E_ABORT_NONE',
      `the rollout of fleet ${fleet.name} is its first: there is no earlier release to go back to (deploy one, or replicas: 0)`,
    );
  const change = rolledBack(fleet, target, 'aborted by hand (ingot abort)', at, actor);
  return { ...change, note: { ...change.note, kind: 'abort', ledgerKind: 'rollout-aborted' } };
}

/**
 * A change with the reason the person gave for it (`--reason`), kept in its note's detail:
 * the history's WHY column and the ledger entry say it. A reason the change already had (a
 * rollback's "by hand (ingot rollback)") comes first, the person's after it.
 */
export function because(change: FleetChange, why: string | undefined): FleetChange {
  if (why === undefined) return change;
  const had = change.note.detail?.['reason'];
  const reason = typeof had === 'string' && had !== '' ? `${had}: ${why}` : why;
  return { ...change, note: { ...change.note, detail: { ...change.note.detail, reason } } };
}
