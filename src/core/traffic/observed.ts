import { BACKEND_ROLES, type Edge, type EdgeServer } from './edge.js';
import { backendName } from './names.js';
import type { ObservedServer } from './servers-state.js';

/**
 * The edge HAProxy runs now: the listens of the configuration it loaded (`loaded`; the
 * Runtime API does not report binds) with the servers it reports. planRuntime(observed,
 * desired) then says what to change. Servers of backends `loaded` does not have are left
 * out: only a reload (which replaces every backend) can be trusted with them.
 */
export function observedEdge(loaded: Edge, servers: readonly ObservedServer[]): Edge {
  const byBackend = new Map<string, EdgeServer[]>();
  for (const s of servers) {
    const list = byBackend.get(s.backend) ?? [];
    list.push({
      instance: s.server,
      address: s.address,
      port: s.port,
      weight: s.weight,
      state: s.state,
    });
    byBackend.set(s.backend, list);
  }
  return {
    fleets: loaded.fleets.map((fleet) => {
      const [live, preview] = BACKEND_ROLES.map(
        (role) => byBackend.get(backendName(fleet.fleet, role)) ?? [],
      );
      return { ...fleet, backends: { live: live ?? [], preview: preview ?? [] } };
    }),
  };
}
