import { fairestStart } from '../../core/capacity/fair-start.js';
import type { DesiredInstance } from '../../domain/instance.js';
import type { AgentContext } from './context.js';
import { isRunning, type InstanceTable } from './instance-table.js';
import { startInstance } from './start-instance.js';

export interface StartQueueOptions {
  /** Starts under way at once. */
  readonly concurrency: number;
  /** Instances this host runs at most; more wait, pending, until others stop. */
  readonly maxInstances: number;
  /** Whether the latest desired set still wants the instance. */
  readonly wanted: (id: string) => boolean;
}

interface Queued {
  readonly d: DesiredInstance;
  readonly done: () => void;
}

/**
 * Starts, a few at a time. A fleet once asked for thousands at once and the agent prepared
 * every one together: namespaces by the thousand, the event loop busy, health checks and
 * drift monitoring of every other fleet starved, and a `replicas: 0` that could not get
 * through. Here a queued instance is only a record (pending); nothing of it is made until its
 * turn comes, and one no longer wanted by then is dropped unmade. Past the host's maximum,
 * instances wait pending, with the reason, for others to stop.
 */
export class StartQueue {
  private readonly queue: Queued[] = [];
  /** Starts under way, by instance id, with their fleet. */
  private readonly inFlight = new Map<string, { fleet: string; run: Promise<void> }>();
  private closed = false;

  constructor(
    private readonly ctx: AgentContext,
    private readonly table: InstanceTable,
    private readonly options: StartQueueOptions,
  ) {}

  /** Recorded pending now; resolves once it started, failed or was dropped. */
  enqueue(d: DesiredInstance): Promise<void> {
    this.table.set({
      id: d.id,
      fleet: d.fleet,
      artifact: d.artifact,
      state: 'pending',
      ...(d.release !== undefined && { release: d.release }),
    });
    this.table.save(d.id);
    return new Promise<void>((done) => this.queue.push({ d, done }));
  }

  /** Drop a queued instance that has not begun; false if it is not queued. */
  cancel(id: string): boolean {
    const at = this.queue.findIndex((q) => q.d.id === id);
    if (at < 0) return false;
    const [q] = this.queue.splice(at, 1);
    this.forget(id);
    q!.done();
    return true;
  }

  /** Resolves when the start of `id` under way (if any) has ended. */
  async settled(id: string): Promise<void> {
    await this.inFlight.get(id)?.run;
  }

  /** Begin what there is room for: a free slot, and the host under its maximum. */
  pump(): void {
    while (!this.closed && this.inFlight.size < this.options.concurrency && this.queue.length) {
      const at = this.fairest();
      const next = this.queue[at]!;
      if (!this.options.wanted(next.d.id)) {
        this.cancel(next.d.id);
        continue;
      }
      if (this.live() >= this.options.maxInstances) {
        this.hold();
        return;
      }
      this.queue.splice(at, 1);
      const id = next.d.id;
      const run = startInstance(this.ctx, this.table, next.d)
        .catch(() => undefined) // startInstance records its own failures
        .finally(() => {
          this.inFlight.delete(id);
          next.done();
          this.pump();
        });
      this.inFlight.set(id, { fleet: next.d.fleet, run });
    }
  }

  /** The next start to begin: fair across fleets (core/capacity/fair-start.ts). */
  private fairest(): number {
    return fairestStart(
      this.queue.map((q) => q.d.fleet),
      [...this.inFlight.values()].map((f) => f.fleet),
    );
  }

  /** No more starts begin; the queued are dropped. Resolves when those under way ended. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) {
      this.forget(q.d.id);
      q.done();
    }
    await Promise.all([...this.inFlight.values()].map((f) => f.run));
  }

  /** Instances that run, are being started, or are being stopped (still on the host). */
  private live(): number {
    let n = this.inFlight.size;
    for (const t of this.table.values()) if (isRunning(t) || t.state === 'stopping') n++;
    return n;
  }

  /** What waits says why. */
  private hold(): void {
    const reason = `waiting for room: this host runs at most ${this.options.maxInstances} instances (E_CAPACITY)`;
    for (const q of this.queue) {
      const t = this.table.get(q.d.id);
      if (!t || t.state !== 'pending' || t.reason === reason) continue;
      t.reason = reason;
      this.table.save(t.id);
    }
  }

  private forget(id: string): void {
    const t = this.table.get(id);
    if (t?.state !== 'pending') return;
    this.table.delete(id);
    this.table.save(id);
  }
}
