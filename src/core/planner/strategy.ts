import { canaryStepSize, rollingBudgets, type FleetSpec } from '../fleet/spec.js';

/** Where a fleet's rollout stands, as the fleet store records it. */
export interface RolloutPosition {
  /** The release being rolled out (or run, once complete). */
  readonly release: string;
  /** The release it replaces: the last complete one, else the one before; null at first. */
  readonly base: string | null;
  readonly progressing: boolean;
  /** Index of the current step: 0 … stepCount; stepCount is the final, full shape. */
  readonly step: number;
}

/** What the fleet should look like at this step of its strategy. */
export interface RolloutShape {
  /** Releases and how many of each, the one rolled out first (no admission verdicts yet). */
  readonly releases: readonly { readonly release: string; readonly count: number }[];
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  /** Reaching it completes the rollout. */
  readonly final: boolean;
  /** Once reached, how long to hold before the next step; null: until `ingot promote`. */
  readonly pauseMs: number | null;
  /** For people: "canary step 1/3: 1 of 4 instances on the new release". */
  readonly label: string;
}

const ROLLING_DEFAULT = { maxSurge: '25%', maxUnavailable: 0 } as const;

/** How many instances of the new release each canary step runs, at most all of them. */
export function canaryCounts(spec: FleetSpec): number[] {
  if (!('canary' in spec.strategy)) return [];
  return spec.strategy.canary.steps.map((s) =>
    Math.min(spec.replicas, canaryStepSize(s, spec.replicas)),
  );
}

/** Intermediate steps before the full shape: canary steps, or a blue-green preview. */
export function stepCount(spec: FleetSpec): number {
  if ('canary' in spec.strategy) return spec.strategy.canary.steps.length;
  if ('blueGreen' in spec.strategy) return 1;
  return 0;
}

/**
 * The shape a fleet should have now. Only a progressing rollout with something to replace
 * is split: a first deploy, a completed release, and a rollback all converge on the full
 * shape directly (a rollback that paused at every canary step would keep the bad release
 * serving longer). Pure.
 */
export function rolloutShape(spec: FleetSpec, at: RolloutPosition): RolloutShape {
  const replicas = spec.replicas;
  const all = [{ release: at.release, count: replicas }];
  const split = at.progressing && at.base !== null && at.base !== at.release;
  const steps = stepCount(spec);
  if ('canary' in spec.strategy && split && at.step < steps) {
    const k = canaryCounts(spec)[at.step]!;
    const pause = spec.strategy.canary.steps[at.step]!.pause ?? 0;
    return {
      releases: [
        { release: at.release, count: k },
        { release: at.base, count: replicas - k },
      ],
      ...rollingBudgets(replicas, ROLLING_DEFAULT),
      final: false,
      pauseMs: pause,
      label: `canary step ${at.step + 1}/${steps}: ${k} of ${replicas} on the new release`,
    };
  }
  if ('blueGreen' in spec.strategy) {
    const preview = Math.min(spec.strategy.blueGreen.previewReplicas ?? replicas, replicas);
    if (split && at.step < steps)
      return {
        releases: [
          { release: at.release, count: preview },
          { release: at.base, count: replicas },
        ],
        // At least 1: a preview of 0 must still be able to replace a tainted instance.
        maxSurge: Math.max(1, preview),
        maxUnavailable: 0,
        final: false,
        pauseMs: spec.strategy.blueGreen.autoPromote ? 0 : null,
        label: `preview: ${preview} of the new release beside ${replicas} of the old`,
      };
    // Promoted: the rest of the new release starts and the old goes once it is ready.
    return {
      releases: all,
      maxSurge: Math.max(1, preview),
      maxUnavailable: 0,
      final: true,
      pauseMs: 0,
      label: split ? 'promoted: replacing the old release' : 'all instances',
    };
  }
  const rolling = 'rolling' in spec.strategy ? spec.strategy.rolling : ROLLING_DEFAULT;
  return {
    releases: all,
    ...rollingBudgets(replicas, rolling),
    final: true,
    pauseMs: 0,
    label: split && steps > 0 ? 'final step: all instances' : 'all instances',
  };
}

export type StepDecision =
  /** The shape is not reached yet: failures and the deadline are judged by the caller. */
  | { readonly kind: 'under-way' }
  /** The final shape is reached: the rollout is complete. */
  | { readonly kind: 'complete' }
  /** An intermediate shape is reached for the first time: start its pause now. */
  | { readonly kind: 'reached' }
  | { readonly kind: 'paused'; readonly remainingMs: number }
  | { readonly kind: 'awaiting-promotion' }
  /** Its pause is over: go to the next step. */
  | { readonly kind: 'advance' };

/** What to do at a step, given whether its shape is reached and since when. Pure. */
export function decideStep(
  shape: RolloutShape,
  reached: boolean,
  reachedAt: number | null,
  now: number,
): StepDecision {
  if (!reached && reachedAt === null) return { kind: 'under-way' };
  if (shape.final) return reached ? { kind: 'complete' } : { kind: 'under-way' };
  if (reachedAt === null) return { kind: 'reached' };
  if (shape.pauseMs === null) return { kind: 'awaiting-promotion' };
  const remainingMs = reachedAt + shape.pauseMs - now;
  return remainingMs <= 0 ? { kind: 'advance' } : { kind: 'paused', remainingMs };
}

/**
 * Whether the fleet has the shape: every release runs exactly its share of ready instances,
 * and nothing else is alive.
 */
export function shapeReached(
  shape: RolloutShape,
  live: readonly { readonly release: string; readonly ready: boolean }[],
): boolean {
  const wanted = shape.releases.reduce((n, r) => n + r.count, 0);
  if (live.length !== wanted) return false;
  return shape.releases.every(
    (r) => live.filter((i) => i.release === r.release && i.ready).length === r.count,
  );
}
