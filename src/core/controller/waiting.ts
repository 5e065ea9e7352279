import type { FleetRecord } from '../fleet/record.js';
import { shapeOf } from './shape.js';

/**
 * What a rollout waits for, when it waits for time or for a person rather than for its
 * instances: `ingot deploy --wait` returns on it (exit 0) and says so.
 */
export type RolloutWait =
  /** A step is ready and held until `ingot promote` (a preview without autoPromote). */
  | { readonly for: 'promotion' }
  /** A step is ready and held for its pause: this long more. */
  | { readonly for: 'pause'; readonly remainingMs: number }
  /** Paused by hand (`ingot pause`) since then, until `ingot resume`. */
  | { readonly for: 'resume'; readonly since: number };

/** Null: it does not wait (it is under way, done, or about to take its next step). Pure. */
export function rolloutWait(fleet: FleetRecord, now: number): RolloutWait | null {
  if (fleet.rollout !== 'progressing') return null;
  if (fleet.pausedAt !== null) return { for: 'resume', since: fleet.pausedAt };
  if (fleet.stepReadyAt === null) return null;
  const shape = shapeOf(fleet);
  if (shape.final) return null;
  if (shape.pauseMs === null) return { for: 'promotion' };
  const remainingMs = fleet.stepReadyAt + shape.pauseMs - now;
  return remainingMs > 0 ? { for: 'pause', remainingMs } : null;
}
