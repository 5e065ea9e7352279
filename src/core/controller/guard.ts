import type { Plan } from '../../domain/fleet.js';
import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetSpec } from '../fleet/spec.js';
import { inMeltdown } from '../planner/meltdown.js';
import type { ControllerMemory } from './memory.js';

/** The meltdown guard's verdict for a fleet this pass. */
export interface GuardVerdict {
  /** True while too many instances failed recently: nothing is replaced. */
  readonly on: boolean;
  readonly failures: readonly number[];
  readonly counted: readonly string[];
  /** Entering or leaving the guard, for the fleet's history; null if it did neither. */
  readonly change: { readonly kind: 'meltdown' | 'meltdown-over'; readonly summary: string } | null;
}

/**
 * The meltdown guard, from what the controller remembers: each instance seen failed or
 * unhealthy counts once (while it is observed), at the time it was first seen; the guard
 * holds while the failures within the window exceed the fleet's share. Pure.
 */
export function judgeGuard(
  memory: ControllerMemory,
  spec: FleetSpec,
  mine: readonly ObservedInstance[],
  now: number,
): GuardVerdict {
  const counted = new Set(memory.counted);
  const failures = [...memory.failures];
  for (const i of mine)
    if ((i.state === 'failed' || i.state === 'unhealthy') && !counted.has(i.id)) {
      counted.add(i.id);
      failures.push(now);
    }
  const window = spec.meltdown?.window ?? 0;
  const recent = failures.filter((t) => now - t < Math.max(window, 1));
  const on =
    spec.meltdown !== undefined &&
    inMeltdown(
      recent,
      now,
      { maxFailedPercent: spec.meltdown.maxFailedPercent, windowMs: spec.meltdown.window },
      spec.replicas,
    );
  // Forgotten once gone: a name reused later counts again if it fails again.
  const present = new Set(mine.map((i) => i.id));
  return {
    on,
    failures: recent,
    counted: [...counted].filter((id) => present.has(id)),
    change:
      on === memory.melting
        ? null
        : on
          ? {
              kind: 'meltdown',
              summary: `more than ${spec.meltdown!.maxFailedPercent}% of instances failed within ${spec.meltdown!.window / 1000} s: replacing stops`,
            }
          : { kind: 'meltdown-over', summary: 'failures left the window: replacing resumes' },
  };
}

/** A plan on hold: dead and tainted instances still go; nothing is started or replaced. */
export function held(p: Plan): Plan {
  // The guard holds back churn, never the eviction of an instance that drifted or was
  // accessed, nor the clean-up of a dead one.
  const stop = p.stop.filter((s) => s.reason === 'gone' || s.reason === 'tainted');
  const stopping = new Set(stop.map((s) => s.id));
  return {
    start: [],
    stop,
    keep: [...p.keep, ...p.stop.filter((s) => !stopping.has(s.id)).map((s) => s.id)],
    reasons: [...p.reasons, 'meltdown guard: too many recent failures, nothing is replaced'],
  };
}
