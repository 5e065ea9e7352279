import type { FleetRecord } from '../../core/fleet/record.js';
import { because, stepped } from '../../core/fleet/transitions.js';
import { shapeOf } from '../../core/controller/shape.js';
import { stepCount } from '../../core/planner/strategy.js';
import { IngotError } from '../../domain/errors.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import { changeFleet } from './change-fleet.js';

/**
 * `ingot promote`: move a paused canary to its next step (or, with `full`, straight to all
 * instances), or promote a blue-green preview. Nothing is patched: the controller replaces
 * instances as the new step's shape asks, within the fleet's budgets.
 */
export async function promote(
  fleets: FleetStore,
  name: string,
  options: { full: boolean; now: number; why?: string },
): Promise<FleetRecord> {
  // The step the user saw: if the rollout leaves it before the write lands (its pause ran
  // out, it was rolled back), the promotion is moot rather than applied to another step.
  let seen: { release: string; step: number } | null = null;
  const written = await changeFleet(fleets, name, (fleet) => {
    if (!fleet) throw new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(name)}`);
    seen ??= { release: fleet.release, step: fleet.step };
    const steps = stepCount(fleet.spec);
    if (seen.release !== fleet.release || seen.step !== fleet.step)
      throw new IngotError('E_PROMOTE_NONE', `fleet ${name} moved on meanwhile: nothing promoted`);
    if (fleet.rollout !== 'progressing' || shapeOf(fleet).final)
      throw new IngotError(
        'E_PROMOTE_NONE',
        steps === 0
          ? `fleet ${name} rolls without steps: there is nothing to promote`
          : `fleet ${name} has nothing to promote: its rollout is ${fleet.rollout === 'progressing' ? 'at its last step' : fleet.rollout}`,
      );
    const step = options.full ? steps : fleet.step + 1;
    const change = stepped(
      fleet,
      { from: fleet.step, step, stepStartedAt: options.now, stepReadyAt: null },
      options.now,
      {
        kind: 'promote',
        detail: `by hand (ingot promote${options.full ? ' --full' : ''}): ${shapeOf({ ...fleet, step }).label}`,
        actor: 'admin',
      },
    );
    return Promise.resolve(change && { change: because(change, options.why) });
  });
  if (!written)
    throw new IngotError('E_PROMOTE_NONE', `fleet ${name} moved on meanwhile: nothing promoted`);
  return written;
}
