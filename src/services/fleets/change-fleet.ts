import type { FleetRecord, ReleaseRecord } from '../../core/fleet/record.js';
import type { FleetChange } from '../../core/fleet/transitions.js';
import { IngotError } from '../../domain/errors.js';
import type { FleetStore } from '../../ports/fleet-store.js';

/** How often a change is decided again when someone else wrote the fleet in between. */
const ATTEMPTS = 5;

/**
 * Read the fleet, decide its change, and write it only if the fleet is still the version
 * that was read; if another writer (the controller, another request) got in between, read
 * and decide again. `decide` throws to refuse, or returns null for "nothing to do".
 */
export async function changeFleet(
  fleets: FleetStore,
  name: string,
  decide: (
    fleet: FleetRecord | null,
  ) => Promise<{ change: FleetChange; release?: ReleaseRecord } | null>,
): Promise<FleetRecord | null> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const fleet = await fleets.fleet(name);
    const decided = await decide(fleet);
    if (decided === null) return null;
    const written = await fleets.writeFleet(
      decided.change.next,
      fleet?.version ?? null,
      decided.change.note,
      decided.release,
    );
    if (written) return written;
  }
  throw new IngotError(
    'E_FLEET_CONFLICT',
    `fleet ${name} kept changing while this change was being made; try again`,
  );
}
