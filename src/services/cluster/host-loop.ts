import { canonicalJson } from '../../core/canonical-json.js';
import type { HostRegistration } from '../../domain/cluster.js';
import type { IngotError } from '../../domain/errors.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import type { HostCoordination, LeaseHandle, Watch, WatchEvent } from '../../ports/coordination.js';
import type { Assignment } from '../../domain/cluster.js';

/** What the loop needs of the host's agent (services/agent, the same as on a single host). */
export interface LocalAgent {
  apply(
    desired: readonly DesiredInstance[],
    options?: { readonly settle?: boolean },
  ): Promise<ObservedInstance[]>;
  known(): ObservedInstance[];
}

export interface HostLoopLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface HostLoopDeps {
  readonly coordination: HostCoordination;
  readonly agent: LocalAgent;
  readonly registration: () => HostRegistration;
  /** The registration lease's TTL (10 s in production). */
  readonly ttlSeconds: number;
  readonly log: HostLoopLog;
  /** How often changed status is written (default 1 s). */
  readonly reportEveryMs?: number;
  /** How often every instance's status is written again, changed or not (default 3 min). */
  readonly fullReportEveryMs?: number;
  /** Waits between tries when the control plane does not answer (default 500 ms → 5 s). */
  readonly retryMs?: { readonly first: number; readonly max: number };
  readonly now?: () => number;
}

/**
 * A host's side of a cluster: keep the registration's lease, follow this host's assignments
 * and have the local agent run exactly them, and report what runs.
 *
 * Static stability: the agent is handed a desired set only from a listing or a watch that
 * succeeded. Losing the control plane (etcd down, the link cut, the lease expired) changes
 * nothing on the host: its instances keep running, healthy, until the control plane says
 * otherwise. Coming back, the host re-registers and reads its assignments again: what the
 * leader moved away meanwhile is stopped then, before the leader gives it new work (the
 * leader fences hosts that report instances nobody assigned them).
 */
export class HostLoop {
  private desired = new Map<string, DesiredInstance>();
  private synced = false;
  private watch: Watch | null = null;
  private lease: LeaseHandle | null = null;
  private reported = new Map<string, string>();
  private seeded = false;
  private lastFull = 0;
  private applying: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private reporter: NodeJS.Timeout | null = null;

  constructor(private readonly deps: HostLoopDeps) {}

  /** Whether the assignments were read at least once (the agent runs them). */
  get following(): boolean {
    return this.synced;
  }

  start(): void {
    void this.register(0);
    void this.follow(0);
    const every = this.deps.reportEveryMs ?? 1000;
    const tick = () => {
      void this.report().finally(() => {
        if (!this.closed) this.reporter = setTimeout(tick, every);
      });
    };
    this.reporter = setTimeout(tick, every);
  }

  /** Stop following and reporting; the lease is left to expire (instances keep running). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reporter) clearTimeout(this.reporter);
    for (const t of this.timers) clearTimeout(t);
    await this.watch?.close().catch(() => undefined);
    this.lease?.release();
    await this.applying;
  }

  private later(ms: number, work: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      work();
    }, ms);
    this.timers.add(t);
  }

  private backoff(attempt: number): number {
    const { first, max } = this.deps.retryMs ?? { first: 500, max: 5000 };
    return Math.min(max, first * 2 ** Math.min(attempt, 10));
  }

  /** Register on a fresh lease; again whenever the lease is lost. */
  private async register(attempt: number): Promise<void> {
    if (this.closed) return;
    try {
      const lease = await this.deps.coordination.register(
        this.deps.registration(),
        this.deps.ttlSeconds,
      );
      if (this.closed) return lease.release();
      this.lease = lease;
      this.deps.log.info({ lease: lease.id }, 'registered');
      void lease.lost.then((why: IngotError) => {
        if (this.closed) return;
        this.deps.log.warn(
          { code: why.code, reason: why.message },
          'lease lost; registering again',
        );
        this.lease = null;
        void this.register(0);
      });
    } catch (err) {
      this.deps.log.warn({ err: summary(err) }, 'cannot register; retrying');
      this.later(this.backoff(attempt), () => void this.register(attempt + 1));
    }
  }

  /** List the assignments, run them, then watch from the listing's revision. */
  private async follow(attempt: number): Promise<void> {
    if (this.closed) return;
    try {
      await this.watch?.close().catch(() => undefined);
      this.watch = null;
      const listing = await this.deps.coordination.listAssignments();
      this.replace(listing.entries.map((e) => e.value.instance));
      this.watch = await this.deps.coordination.watchAssignments(listing.revision + 1, {
        event: (e) => this.changed(e),
        failed: (err) => {
          this.deps.log.warn({ code: err.code, reason: err.message }, 'watch ended; listing again');
          this.later(this.backoff(0), () => void this.follow(1));
        },
      });
      if (this.closed) await this.watch.close();
    } catch (err) {
      // The control plane is away: what runs keeps running (static stability).
      this.deps.log.warn(
        { err: summary(err) },
        'cannot read the assignments; instances keep running',
      );
      this.later(this.backoff(attempt), () => void this.follow(attempt + 1));
    }
  }

  private changed(e: WatchEvent<Assignment>): void {
    if (e.kind === 'put') this.desired.set(e.entry.id, e.entry.value.instance);
    else if (e.kind === 'delete') this.desired.delete(e.id);
    else if (e.kind === 'relisted')
      return this.replace(e.listing.entries.map((x) => x.value.instance));
    else {
      this.deps.log.warn(
        { key: e.value.key, reason: e.value.reason },
        'an assignment is unreadable; ignored',
      );
      return;
    }
    this.schedule();
  }

  private replace(instances: readonly DesiredInstance[]): void {
    this.desired = new Map(instances.map((d) => [d.id, d]));
    this.synced = true;
    this.schedule();
  }

  /** One apply at a time; changes that arrive meanwhile are applied together next. */
  private schedule(): void {
    this.dirty = true;
    this.applying = this.applying.then(async () => {
      if (!this.dirty || this.closed) return;
      this.dirty = false;
      try {
        await this.deps.agent.apply([...this.desired.values()], { settle: false });
      } catch (err) {
        this.deps.log.warn({ err: summary(err) }, 'applying the assignments failed; retrying');
        this.later(this.backoff(1), () => this.schedule());
      }
    });
  }

  /** Write what changed since the last report (and everything, every few minutes). */
  private async report(): Promise<void> {
    if (!this.seeded) {
      // What an earlier run of this agent reported and no longer runs must be deleted too.
      try {
        const listing = await this.deps.coordination.listStatus();
        for (const e of listing.entries) this.reported.set(e.id, '');
        this.seeded = true;
      } catch (err) {
        this.deps.log.warn({ err: summary(err) }, "cannot read this host's status yet");
        return;
      }
    }
    const now = (this.deps.now ?? Date.now)();
    const full = now - this.lastFull >= (this.deps.fullReportEveryMs ?? 180_000);
    const known = this.deps.agent.known();
    const encoded = new Map(known.map((i) => [i.id, canonicalJson(i)]));
    const put = known.filter((i) => full || this.reported.get(i.id) !== encoded.get(i.id));
    const gone = [...this.reported.keys()].filter((id) => !encoded.has(id));
    if (put.length === 0 && gone.length === 0) return;
    try {
      if (put.length > 0) await this.deps.coordination.putStatus(put);
      if (gone.length > 0) await this.deps.coordination.deleteStatus(gone);
      for (const i of put) this.reported.set(i.id, encoded.get(i.id)!);
      for (const id of gone) this.reported.delete(id);
      if (full) this.lastFull = now;
    } catch (err) {
      this.deps.log.warn({ err: summary(err) }, 'cannot report status; trying again');
    }
  }
}

function summary(err: unknown): { code?: string; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  return {
    ...(typeof e.code === 'string' && { code: e.code }),
    message: typeof e.message === 'string' ? e.message : String(err),
  };
}
