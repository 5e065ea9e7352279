import type { FleetRecord } from '../fleet/record.js';
import { rolloutShape, type RolloutShape } from '../planner/strategy.js';

/** The shape the fleet's strategy asks for at its rollout's current step. Pure. */
export function shapeOf(
  fleet: Pick<FleetRecord, 'spec' | 'release' | 'stable' | 'previous' | 'rollout' | 'step'>,
): RolloutShape {
  const base = fleet.stable ?? fleet.previous;
  return rolloutShape(fleet.spec, {
    release: fleet.release,
    base: base === fleet.release ? fleet.previous : base,
    progressing: fleet.rollout === 'progressing',
    step: fleet.step,
  });
}
