import type { FleetView } from '../../../core/api/fleets.js';
import { routes } from '../../../core/api/routes.js';
import { formatDuration } from '../../../core/duration.js';
import { call } from '../../client.js';
import type { ApiSettings } from '../../target.js';

export type { FleetView } from '../../../core/api/fleets.js';

/** Every fleet with its rollout and instances, from the running Ingot. */
export function listFleets(api: ApiSettings): Promise<FleetView[]> {
  return call(api, routes.fleets);
}

/** How many instances the fleet asks for. */
export function replicasOf(f: { readonly spec: { readonly replicas: number } }): number {
  return f.spec.replicas;
}

/**
 * What the rollout waits for, for people, with the command that ends the wait; null when it
 * does not wait. An older server sends no `waiting`: its awaitingPromotion still says one.
 */
export function waitingText(f: FleetView): string | null {
  const w = f.waiting ?? (f.awaitingPromotion ? { for: 'promotion' as const } : undefined);
  if (w === undefined) return null;
  switch (w.for) {
    case 'promotion':
      return `run \`ingot promote ${f.name}\` to go on`;
    case 'pause':
      // Rounded up: "0s more" would read as done.
      return `paused for ${formatDuration(Math.ceil(w.remainingMs / 1000) * 1000)} more (\`ingot promote ${f.name}\` goes on now)`;
    case 'resume':
      return `paused by hand; run \`ingot resume ${f.name}\` to go on`;
  }
}
