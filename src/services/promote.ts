import type { FleetSpec } from '../core/fleet/spec.js';
import { stepCount } from '../core/planner/strategy.js';
import { IngotError } from '../domain/errors.js';
import type { FleetRecord, FleetStore } from '../ports/fleet-store.js';
import { shapeOf } from './controller.js';

/**
 * `ingot promote`: move a paused canary to its next step (or, with `full`, straight to all
 * instances), or promote a blue-green preview. Nothing is patched: the controller replaces
 * instances as the new step's shape asks, within the fleet's budgets.
 */
export async function promote(
  fleets: FleetStore,
  name: string,
  options: { full: boolean; now: number },
): Promise<FleetRecord> {
  const fleet = await fleets.fleet(name);
  if (!fleet) throw new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(name)}`);
  const steps = stepCount(fleet.spec as FleetSpec);
  const shape = shapeOf(fleet);
  if (fleet.rollout !== 'progressing' || shape.final)
    throw new IngotError(
      'E_PROMOTE_NONE',
      steps === 0
        ? `fleet ${name} rolls without steps: there is nothing to promote`
        : `fleet ${name} has nothing to promote: its rollout is ${fleet.rollout === 'progressing' ? 'at its last step' : fleet.rollout}`,
    );
  const step = options.full ? steps : fleet.step + 1;
  const moved = await fleets.setStep(
    name,
    fleet.release,
    { from: fleet.step, step, stepStartedAt: options.now, stepReadyAt: null },
    options.now,
    {
      kind: 'promote',
      detail: `by hand (ingot promote${options.full ? ' --full' : ''}): ${shapeOf({ ...fleet, step }).label}`,
    },
  );
  if (!moved)
    throw new IngotError('E_PROMOTE_NONE', `fleet ${name} moved on meanwhile: nothing promoted`);
  return (await fleets.fleet(name))!;
}
