import type { HostsAnswer } from '../../core/api/hosts.js';
import type { ApiHandlers } from '../../core/api/routes.js';
import type { HostUsage } from '../../core/capacity/host-usage.js';
import type { HostReadings } from '../../ports/host-readings.js';

/**
 * GET /v1/hosts on one machine (`ingot up`): the machine itself, live for as long as its
 * server answers (its agent runs in the same process: this answer is its heartbeat), with no
 * labels and no leader.
 */
export function singleHostApi(deps: {
  /** The machine's name as a DNS label (domain/cluster.ts nodeNameOf). */
  readonly name: string;
  /** The running version, as a cluster agent registers its own. */
  readonly agent: string | null;
  /** When this server (and its agent) started. */
  readonly startedAt: Date;
  readonly capacity: () => HostReadings;
  readonly usage: () => HostUsage;
  readonly now: () => number;
}): Pick<ApiHandlers, 'hosts'> {
  return {
    hosts: (): Promise<HostsAnswer> => {
      const capacity = deps.capacity();
      return Promise.resolve({
        hosts: [
          {
            name: deps.name,
            state: 'live',
            labels: {},
            capacity: {
              memoryBytes: capacity.memoryBytes,
              cpus: capacity.cpus,
              pids: capacity.pids,
            },
            used: deps.usage(),
            lastHeartbeat: new Date(deps.now()).toISOString(),
            agent: deps.agent,
            startedAt: deps.startedAt.toISOString(),
          },
        ],
        leader: null,
      });
    },
  };
}
