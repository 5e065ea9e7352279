import type { FleetRecord } from '../../core/fleet/record.js';
import { because, rollbackTarget, rolledBack } from '../../core/fleet/transitions.js';
import type { Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import { changeFleet } from './change-fleet.js';

/**
 * `ingot rollback`: point the fleet at `to` (one of its releases), else its last completed
 * release, else the one before. Nothing is patched: the controller replaces the instances,
 * within the fleet's budgets, as for any deploy.
 */
export async function rollBack(
  fleets: FleetStore,
  name: string,
  options: { reason: string; at: number; to?: Digest; actor?: string; why?: string },
): Promise<FleetRecord> {
  const written = await changeFleet(fleets, name, async (fleet) => {
    if (!fleet) throw new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(name)}`);
    const target = rollbackTarget(fleet, options.to);
    if (target === null)
      throw new IngotError(
        'E_ROLLBACK_NONE',
        `fleet ${name} has no earlier release to roll back to`,
      );
    const release = await fleets.release(target);
    // Only the fleet's own releases: another fleet's would run its settings under this name.
    if (!release || release.fleet !== name)
      throw new IngotError('E_ROLLBACK_NONE', `fleet ${name} never had release ${target}`);
    return {
      change: because(
        rolledBack(fleet, release, options.reason, options.at, options.actor ?? 'admin'),
        options.why,
      ),
    };
  });
  return written!; // a rollback always has something to write, or throws
}
