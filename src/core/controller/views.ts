import type { PlannedInstanceView } from '../../domain/fleet.js';
import type { ObservedInstance } from '../../domain/instance.js';

/** An observed instance as the planner sees it, times as numbers. Pure. */
export function toView(i: ObservedInstance, now: number): PlannedInstanceView {
  return {
    id: i.id,
    release: i.release ?? '',
    state: i.state,
    startedAt: i.startedAt ? Date.parse(i.startedAt) : null,
    healthySince: i.healthySince ? Date.parse(i.healthySince) : null,
    tainted: i.integrity === 'tainted',
    held: i.heldUntil !== undefined && Date.parse(i.heldUntil) > now,
  };
}
