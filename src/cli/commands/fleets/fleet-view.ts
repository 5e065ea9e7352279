import type { FleetView } from '../../../core/api/fleets.js';
import { routes } from '../../../core/api/routes.js';
import type { FleetRecord } from '../../../core/fleet/record.js';
import { call } from '../../client.js';
import type { ApiSettings } from '../../target.js';

export type { FleetView } from '../../../core/api/fleets.js';

/** Every fleet with its rollout and instances, from the running Ingot. */
export function listFleets(api: ApiSettings): Promise<FleetView[]> {
  return call(api, routes.fleets);
}

/** How many instances the fleet asks for. */
export function replicasOf(f: FleetRecord): number {
  return f.spec.replicas;
}
