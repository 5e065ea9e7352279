import type { Digest } from '../../domain/digest.js';
import type { FleetNote, FleetRecord, FleetState, ReleaseRecord } from './record.js';
import type { FleetSpec } from './spec.js';

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

const firstStep = (at: number) => ({ step: 0, stepStartedAt: at, stepReadyAt: null });

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
