import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetRecord } from '../fleet/record.js';
import { rollbackTarget, type StepUpdate } from '../fleet/transitions.js';
import { LIVE } from '../planner/plan.js';
import {
  decideStep,
  shapeReached,
  type RolloutShape,
  type StepDecision,
} from '../planner/strategy.js';
import { crashLine, CRASHES_TO_FAIL } from './crash-streaks.js';
import type { CrashStreak, StartStreak } from './memory.js';
import { shapeOf } from './shape.js';
import { failedToStart, START_FAILURES_TO_FAIL } from './start-failures.js';
import { toView } from './views.js';

/** What the rollout of a fleet's release needs now; the executor writes it. */
export type RolloutDecision =
  /** The final shape is reached: the release becomes the stable one. */
  | { readonly kind: 'complete' }
  /** A step's shape was reached (its pause starts), or its pause is over (the next step). */
  | {
      readonly kind: 'step';
      readonly update: StepUpdate;
      readonly why: { readonly kind: 'step-reached' | 'step'; readonly detail: string };
    }
  /** The release failed: back to the last stable release (autoRollback). */
  | { readonly kind: 'roll-back'; readonly reason: string }
  /** Admission refuses the release and there is nothing to go back to. */
  | { readonly kind: 'refuse'; readonly reason: string }
  /** It cannot start, and there is nothing to go back to (or no going back): it stops here. */
  | { readonly kind: 'fail'; readonly reason: string };

/**
 * Move the rollout on, or judge it failed: complete it, hold or advance a canary step or a
 * preview, or roll back when the new release fails, is refused, or misses its step's
 * deadline. Null: nothing to write now. `admitted` is admission's verdict on the fleet's
 * artifact, null when it could not be checked this time (a transient failure is no verdict,
 * so nothing is judged). `starts` is the release's streak of failed starts this pass: one
 * round of them is retried after its back-off, START_FAILURES_TO_FAIL rounds fail the
 * release, rolled back if it can be, else stopped with the reason. `crashes` is the release's
 * crash streak: CRASHES_TO_FAIL crashes fail it the same way (its first crash already rolls
 * back a release that has a stable one to go back to, as any failed instance does).
 * `analysis`: why its answers through the edge fail its analysis (core/traffic), if they do:
 * rolled back, or failed with nothing to go back to. Pure.
 */
export function judgeRollout(
  fleet: FleetRecord,
  mine: readonly ObservedInstance[],
  admitted: boolean | null,
  now: number,
  starts?: StartStreak,
  crashes?: CrashStreak,
  analysis: string | null = null,
): RolloutDecision | null {
  if (fleet.rollout !== 'progressing' || admitted === null) return null;
  let why: string | null = 'admission refuses the artifact';
  const cannotStart =
    starts !== undefined &&
    starts.release === fleet.release &&
    starts.failures >= START_FAILURES_TO_FAIL
      ? `it failed to start ${starts.failures} times in a row: ${starts.reason}`
      : crashes !== undefined &&
          crashes.release === fleet.release &&
          crashes.crashes >= CRASHES_TO_FAIL
        ? crashLine(crashes)
        : null;
  if (admitted && analysis !== null) why = analysis;
  else if (admitted && cannotStart === null) {
    const shape = shapeOf(fleet);
    const step = decideStep(
      shape,
      shapeReached(shape, liveShares(fleet, mine, now)),
      fleet.stepReadyAt,
      now,
    );
    // Paused by hand: no step moves, nothing completes; failures are still judged below
    // (a pause must not keep a failing release serving).
    const moved = fleet.pausedAt === null ? move(fleet, shape, step, now) : null;
    if (moved) return moved;
    why = fault(fleet, shape, step, mine, now);
  } else if (admitted) why = cannotStart;
  if (why === null) return null;
  // The same rule the rollback itself follows: nothing to go back to, nothing to roll back.
  if (fleet.spec.autoRollback && rollbackTarget(fleet) !== null)
    return { kind: 'roll-back', reason: why };
  if (!admitted) return { kind: 'refuse', reason: why };
  // Retrying what cannot start (or what fails its analysis) only fills the ledger: it stops.
  if (cannotStart !== null || analysis !== null) return { kind: 'fail', reason: why };
  return null; // nothing to return to: keep replacing within the deadline's account
}

/** Each live instance's release and readiness. Tainted ones are on their way out: they count neither for nor against a shape. */
function liveShares(
  fleet: FleetRecord,
  mine: readonly ObservedInstance[],
  now: number,
): { release: string; ready: boolean }[] {
  const minReadyMs = fleet.spec.minReadySeconds * 1000;
  return mine
    .filter((i) => LIVE.has(i.state) && i.integrity !== 'tainted')
    .map((i) => {
      const v = toView(i, now);
      return {
        release: v.release,
        ready:
          v.state === 'healthy' && v.healthySince !== null && now - v.healthySince >= minReadyMs,
      };
    });
}

/** The write a step decision needs, or null if the rollout stays where it is. */
function move(
  fleet: FleetRecord,
  shape: RolloutShape,
  step: StepDecision,
  now: number,
): RolloutDecision | null {
  switch (step.kind) {
    case 'complete':
      return { kind: 'complete' };
    case 'reached':
      return {
        kind: 'step',
        update: {
          from: fleet.step,
          step: fleet.step,
          stepStartedAt: fleet.stepStartedAt,
          stepReadyAt: now,
        },
        why: { kind: 'step-reached', detail: reachedLine(shape) },
      };
    case 'advance':
      return {
        kind: 'step',
        update: { from: fleet.step, step: fleet.step + 1, stepStartedAt: now, stepReadyAt: null },
        why: { kind: 'step', detail: shapeOf({ ...fleet, step: fleet.step + 1 }).label },
      };
    case 'under-way':
    case 'paused':
    case 'awaiting-promotion':
      return null;
  }
}

/** Why the release failed where it stands, or null if it has not (yet). */
function fault(
  fleet: FleetRecord,
  shape: RolloutShape,
  step: StepDecision,
  mine: readonly ObservedInstance[],
  now: number,
): string | null {
  // One that never started is retried after a back-off (judged by its streak): a host's
  // passing trouble must not roll a release back.
  const failed = mine.find(
    (i) =>
      i.release === fleet.release &&
      (i.state === 'failed' || i.state === 'unhealthy') &&
      !failedToStart(i),
  );
  if (failed) return `${failed.id} is ${failed.state}${failed.reason ? `: ${failed.reason}` : ''}`;
  const deadline = fleet.spec.progressDeadline;
  // A paused step has no deadline: resume gives the time paused back (fleet/transitions.ts).
  if (fleet.pausedAt === null && step.kind === 'under-way' && now - fleet.stepStartedAt > deadline)
    return `${shape.final ? '' : `${shape.label}: `}not ready within the progress deadline (${deadline / 1000} s)`;
  return null;
}

function reachedLine(shape: RolloutShape): string {
  return shape.pauseMs === null
    ? `${shape.label}: ready, waiting for ingot promote`
    : `${shape.label}: ready${shape.pauseMs > 0 ? `, pausing ${shape.pauseMs / 1000} s` : ''}`;
}
