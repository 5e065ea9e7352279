import type { ObservedInstance } from '../../../domain/instance.js';
import type { FleetRecord } from '../../../core/fleet/record.js';
import { api } from '../../client.js';

/** A fleet as `GET /v1/fleets` returns it. */
export type FleetView = FleetRecord & {
  /** Where the rollout stands, for people. */
  phase: string;
  /** A preview or canary step is ready and waits for `ingot promote`. */
  awaitingPromotion: boolean;
  /** Why the last reconcile pass could not do everything (budgets, admission). */
  reasons: string[];
  instances: ObservedInstance[];
};

/** Every fleet with its rollout and instances, from the running Ingot. */
export function listFleets(home: string): Promise<FleetView[]> {
  return api<FleetView[]>(home, 'GET', '/v1/fleets');
}

/** How many instances the fleet asks for (its spec is the server's to validate). */
export function replicasOf(f: FleetRecord): number {
  return (f.spec as { replicas: number }).replicas;
}
