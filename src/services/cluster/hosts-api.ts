import type { HostsAnswer } from '../../core/api/hosts.js';
import type { ApiHandlers } from '../../core/api/routes.js';
import { hostUsage } from '../../core/capacity/host-usage.js';
import type { ControlCoordination } from '../../ports/coordination.js';
import { readPicture } from './cluster-agents.js';

/**
 * GET /v1/hosts in a cluster: every host registered or admitted, what its instances reserve
 * (their declared limits, from its assignments and status), and the leader. A live host's
 * heartbeat is now: its lease is held, and etcd ends a lease whose keep-alives stop within
 * its TTL; a lost host's is unknown (null).
 */
export function clusterHostsApi(deps: {
  readonly control: ControlCoordination;
  readonly now: () => number;
}): Pick<ApiHandlers, 'hosts'> {
  return {
    hosts: async (): Promise<HostsAnswer> => {
      const [picture, leader] = await Promise.all([
        readPicture(deps.control),
        deps.control.leader(),
      ]);
      const now = new Date(deps.now()).toISOString();
      return {
        hosts: picture.hosts.map((h) => {
          const r = h.registration;
          return {
            name: h.name,
            state: h.state,
            labels: r?.labels ?? {},
            capacity: {
              memoryBytes: r?.capacity.memoryBytes ?? 0,
              cpus: r?.capacity.cpus ?? 0,
              pids: r?.capacity.pids ?? 0,
            },
            used: hostUsage(picture.status.get(h.name) ?? [], [
              ...(picture.assignments.get(h.name)?.values() ?? []),
            ]),
            lastHeartbeat: h.state === 'lost' ? null : now,
            agent: r?.agent ?? null,
            startedAt: r?.startedAt ?? null,
            ...(r?.api !== undefined && { api: r.api }),
          };
        }),
        leader: leader?.record ?? null,
      };
    },
  };
}
