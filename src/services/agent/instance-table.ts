import type { HealthState } from '../../core/runtime/health.js';
import type { Digest } from '../../domain/digest.js';
import type {
  Evidence,
  InstanceState,
  Integrity,
  ObservedInstance,
} from '../../domain/instance.js';
import type { AgentStateStore, SavedInstance } from '../../ports/agent-state.js';

/** An instance as the agent tracks it; the step that owns a change makes it. */
export interface TrackedInstance {
  id: string;
  fleet: string;
  artifact: Digest;
  state: InstanceState;
  reason?: string;
  address?: string;
  pid?: number;
  startedAt?: string;
  release?: string;
  healthySince?: string;
  /** Where its health checks stand (not saved: a restarted agent checks afresh). */
  health?: HealthState;
  /** When it was last probed (not saved). */
  lastProbe?: number;
  /** The rootfs folder it runs from. */
  rootfs?: string;
  /** Mount points the host added to that rootfs. */
  addedMountPoints?: string[];
  evidence?: Evidence[];
  heldUntil?: string;
}

/** States of an instance whose process is meant to be running. */
export function isRunning(t: Pick<TrackedInstance, 'state'>): boolean {
  return t.state === 'starting' || t.state === 'healthy' || t.state === 'unhealthy';
}

/**
 * The instances this agent knows, and its record of them. Every change is saved through the
 * agent's state port by whoever made it (`save()`), so a restarted agent knows what it ran.
 */
export class InstanceTable {
  private readonly byId = new Map<string, TrackedInstance>();

  constructor(private readonly state: AgentStateStore) {}

  get(id: string): TrackedInstance | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  values(): IterableIterator<TrackedInstance> {
    return this.byId.values();
  }

  set(t: TrackedInstance): void {
    this.byId.set(t.id, t);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /** The record, as it is now, replaces the saved one. */
  save(): void {
    const instances: SavedInstance[] = [...this.byId.values()].map(
      ({ health: _h, lastProbe: _l, ...rest }) => rest,
    );
    this.state.save(instances);
  }

  /** Every instance as its host reports it, sorted by id. */
  snapshot(integrityOf: (t: TrackedInstance) => Integrity, host?: string): ObservedInstance[] {
    return [...this.byId.values()]
      .map((t) => {
        const { health: _h, lastProbe: _l, rootfs: _r, addedMountPoints: _a, ...rest } = t;
        return { ...rest, integrity: integrityOf(t), ...(host !== undefined && { host }) };
      })
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}
