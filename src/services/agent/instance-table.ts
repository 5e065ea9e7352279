import type { HealthState } from '../../core/runtime/health.js';
import type { Digest } from '../../domain/digest.js';
import type {
  Evidence,
  InstanceExit,
  InstanceState,
  Integrity,
  ObservedInstance,
} from '../../domain/instance.js';
import type { AgentStateStore } from '../../ports/agent-state.js';

/** An instance as the agent tracks it; the step that owns a change makes it. */
export interface TrackedInstance {
  id: string;
  fleet: string;
  artifact: Digest;
  state: InstanceState;
  reason?: string;
  address?: string;
  /** The TCP ports its image exposes (for people: `ingot status` shows address:port). */
  ports?: number[];
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
  /** The command its break-glass session was opened for (commandLine), while held. */
  heldCommand?: string;
  /** A session ran under the current hold (one per opening). */
  heldAttached?: boolean;
  /** The host's init it runs as PID 1 (runtime: init: true): its digest and file identity. */
  init?: { digest: string; dev: number; ino: number };
  /** SIGTERM, then this long, then SIGKILL: the latest grace its fleet gave (else the host's). */
  stopGraceMs?: number;
  exit?: InstanceExit;
}

/** States of an instance whose process is meant to be running. */
export function isRunning(t: Pick<TrackedInstance, 'state'>): boolean {
  return t.state === 'starting' || t.state === 'healthy' || t.state === 'unhealthy';
}

/**
 * The instances this agent knows, and its record of them. Every change is saved through the
 * agent's state port by whoever made it (`save(id)`), so a restarted agent knows what it ran.
 * Only what changed is written: the record of one instance, or its removal.
 */
export class InstanceTable {
  private readonly byId = new Map<string, TrackedInstance>();
  /** What the record holds of each instance (its JSON), to write only what changed. */
  private readonly saved = new Map<string, string>();

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

  get size(): number {
    return this.byId.size;
  }

  set(t: TrackedInstance): void {
    this.byId.set(t.id, t);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /**
   * The instance `id` as it is now (or its absence) replaces what the record holds of it.
   * Without an id every instance is compared with the record and what differs is written:
   * O(instances) in memory, but only the changes reach the disk.
   */
  save(id?: string): void {
    if (id !== undefined) return this.saveOne(id);
    for (const known of this.byId.keys()) this.saveOne(known);
    for (const gone of [...this.saved.keys()]) if (!this.byId.has(gone)) this.saveOne(gone);
  }

  private saveOne(id: string): void {
    const t = this.byId.get(id);
    if (!t) {
      if (!this.saved.delete(id)) return;
      this.state.remove(id);
      return;
    }
    const { health: _h, lastProbe: _l, ...rest } = t;
    const json = JSON.stringify(rest);
    if (this.saved.get(id) === json) return;
    this.saved.set(id, json);
    this.state.put(rest);
  }

  /** What the record holds (after a restart); the table starts knowing it is there. */
  load(): unknown[] {
    const saved = this.state.load();
    for (const s of saved)
      if (typeof s === 'object' && s !== null && typeof (s as { id?: unknown }).id === 'string')
        this.saved.set((s as { id: string }).id, '');
    return saved;
  }

  /** Every instance as its host reports it, sorted by id. */
  snapshot(integrityOf: (t: TrackedInstance) => Integrity, host?: string): ObservedInstance[] {
    return [...this.byId.values()]
      .map((t) => {
        const {
          health: _h,
          lastProbe: _l,
          rootfs: _r,
          addedMountPoints: _a,
          init: _i,
          stopGraceMs: _g,
          heldCommand: _c,
          heldAttached: _t,
          ...rest
        } = t;
        return { ...rest, integrity: integrityOf(t), ...(host !== undefined && { host }) };
      })
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}
