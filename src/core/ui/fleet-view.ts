import type { FleetView } from '../api/fleets.js';
import { shapeOf } from '../controller/shape.js';
import { stepCount } from '../planner/strategy.js';

/** One release's share of a fleet at its current step, as the strategy asks for it. */
export interface Weight {
  readonly release: string;
  readonly count: number;
  /** Of the fleet's replicas, rounded to a whole percent. */
  readonly percent: number;
}

/**
 * A fleet as the dashboard shows it: the API's view (typed by the same schema) with what the
 * page would otherwise have to work out from the strategy, which the browser does not carry
 * (the planner and its schemas would weigh more than the page).
 */
export type UiFleet = FleetView & {
  /** Steps before the full shape (canary steps, a blue-green preview); 0 for rolling. */
  readonly stepCount: number;
  /** What each release should run at this step. */
  readonly weights: readonly Weight[];
  /** `ingot promote` would move it on: a progressing rollout short of its final shape. */
  readonly promotable: boolean;
  /**
   * When the current step's pause ends (ms since the epoch); null if none is running (nor
   * while the rollout is paused by hand: resuming gives the held time back).
   */
  readonly pauseEndsAt: number | null;
};

/** The dashboard's view of one fleet. Pure. */
export function uiFleet(view: FleetView): UiFleet {
  const shape = shapeOf(view);
  const replicas = Math.max(1, view.spec.replicas);
  // Held by hand (`ingot pause`), the step's pause stops counting: no countdown to show.
  const pausing =
    view.rollout === 'progressing' &&
    view.pausedAt === null &&
    !shape.final &&
    view.stepReadyAt !== null &&
    shape.pauseMs !== null &&
    shape.pauseMs > 0;
  return {
    ...view,
    stepCount: stepCount(view.spec),
    weights: shape.releases
      .filter((r) => r.count > 0)
      .map((r) => ({
        release: r.release,
        count: r.count,
        percent: Math.round((100 * r.count) / replicas),
      })),
    promotable: view.rollout === 'progressing' && !shape.final,
    pauseEndsAt:
      pausing && view.stepReadyAt !== null
        ? Date.parse(view.stepReadyAt) + (shape.pauseMs ?? 0)
        : null,
  };
}

/** What a read-only session is shown of an env value: the name is kept, never the value. */
export const HIDDEN_VALUE = '(hidden)';

/**
 * The fleets as a role may see them. Env values may be secrets: a read-only token is handed
 * to whoever should watch rollouts, and is shown names only, as `ingot describe` shows them
 * to anyone. The admin token can read the values through the API anyway. Pure.
 */
export function forRole(fleets: readonly UiFleet[], role: 'admin' | 'read-only'): UiFleet[] {
  if (role === 'admin') return [...fleets];
  return fleets.map((f) => ({
    ...f,
    spec: {
      ...f.spec,
      env: Object.fromEntries(Object.keys(f.spec.env).map((k) => [k, HIDDEN_VALUE])),
    },
  }));
}
