import type { DesiredInstance, ObservedInstance } from '../../src/domain/instance.js';
import type { LocalAgent } from '../../src/services/cluster/host-loop.js';

/**
 * A simulated host's agent: the `LocalAgent` seam of HostLoop filled by a fake that "runs" an
 * instance the moment it is assigned and reports it healthy and verified, and "stops" one the
 * moment it is no longer assigned. No container, image, network or probe: what the bench
 * measures is the control plane (etcd, the leader, the host loop), not the runtime.
 */
export class SimulatedAgent implements LocalAgent {
  private readonly running = new Map<string, ObservedInstance>();

  constructor(private readonly now: () => number) {}

  apply(desired: readonly DesiredInstance[]): Promise<ObservedInstance[]> {
    const wanted = new Set(desired.map((d) => d.id));
    for (const id of this.running.keys()) if (!wanted.has(id)) this.running.delete(id);
    const at = new Date(this.now()).toISOString();
    for (const d of desired)
      if (!this.running.has(d.id))
        this.running.set(d.id, {
          id: d.id,
          fleet: d.fleet,
          artifact: d.artifact,
          state: 'healthy',
          startedAt: at,
          healthySince: at,
          integrity: 'verified',
          ...(d.release !== undefined && { release: d.release }),
        });
    return Promise.resolve(this.known());
  }

  known(): ObservedInstance[] {
    return [...this.running.values()];
  }
}
