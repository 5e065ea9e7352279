import { performance } from 'node:perf_hooks';
import type { State } from '../../src/bin/open-state.js';
import type { LedgerEntryDraft } from '../../src/core/ledger/index.js';
import type { DesiredInstance, ObservedInstance } from '../../src/domain/instance.js';
import type { ControlCoordination, Leadership } from '../../src/ports/coordination.js';
import { ClusterAgents } from '../../src/services/cluster/cluster-agents.js';
import {
  Controller,
  type AgentApi,
  type FleetStatus,
} from '../../src/services/controller/index.js';
import { ReconcileLoop } from '../../src/services/server/reconcile-loop.js';
import { FLEETS, INTERVAL_MS, PER_FLEET } from './settings.js';

/** The controller's agent, timed: how long reading the cluster and writing assignments took. */
class TimedAgent implements AgentApi {
  observeMs = 0;
  applyMs = 0;

  constructor(private readonly inner: AgentApi) {}

  async observe(): Promise<ObservedInstance[]> {
    const t = performance.now();
    try {
      return await this.inner.observe();
    } finally {
      this.observeMs = performance.now() - t;
    }
  }

  async apply(
    desired: readonly DesiredInstance[],
    options?: { readonly settle?: boolean },
  ): Promise<ObservedInstance[]> {
    const t = performance.now();
    try {
      return await this.inner.apply(desired, options);
    } finally {
      this.applyMs = performance.now() - t;
    }
  }
}

/**
 * One controller pass: when it began, how long it took and its parts, what it saw (counted:
 * a pass's statuses are not kept, or the bench would hold every pass's 10,000 instances).
 */
export interface Pass {
  readonly start: number;
  readonly ms: number;
  /** This process's CPU time (user + system) during the pass. */
  readonly cpuMs: number;
  /** Reading hosts, status (and, once a term, assignments) from etcd. */
  readonly observeMs: number;
  /** Placement and the fenced writes of assignments. */
  readonly applyMs: number;
  /** Instances the pass saw healthy. */
  readonly healthy: number;
  /** Every fleet had all its replicas healthy and its rollout complete. */
  readonly settled: boolean;
}

/** Instances a pass saw healthy, and whether every fleet has all its replicas healthy. */
export function healthy(statuses: readonly FleetStatus[]): { count: number; all: boolean } {
  let count = 0;
  let all = statuses.length === FLEETS;
  for (const s of statuses) {
    const n = s.instances.filter((i) => i.state === 'healthy').length;
    count += n;
    if (n < PER_FLEET) all = false;
  }
  return { count, all };
}

/**
 * A leader as cluster-server.ts makes one (Term.begin: ClusterAgents under the Controller,
 * passes by the server's ReconcileLoop), with its passes timed and kept. Artifacts are taken
 * as admitted: no artifact is pulled or verified, the simulated hosts run nothing.
 */
export class Leader {
  readonly agents: ClusterAgents;
  readonly passes: Pass[] = [];
  private readonly timed: TimedAgent;
  private readonly controller: Controller;
  private loop: ReconcileLoop | null = null;
  private readonly waiters = new Set<(p: Pass) => void>();

  constructor(
    control: ControlCoordination,
    readonly leadership: Leadership,
    state: State,
    record: (e: LedgerEntryDraft) => void,
    private readonly onError: (err: unknown) => void,
  ) {
    const now = () => Date.now();
    const fleets = state.fleets;
    this.agents = new ClusterAgents({
      control,
      leadership,
      fleets,
      record,
      now,
      actor: 'server@a',
    });
    this.timed = new TimedAgent(this.agents);
    this.controller = new Controller({
      fleets,
      agent: this.timed,
      record,
      now,
      admitted: () => Promise.resolve(true),
    });
  }

  async pass(): Promise<Pass> {
    const start = performance.now();
    const cpu = process.cpuUsage();
    const statuses = await this.controller.reconcile();
    const ms = performance.now() - start;
    const { user, system } = process.cpuUsage(cpu);
    const seen = healthy(statuses);
    const pass: Pass = {
      start,
      ms,
      cpuMs: (user + system) / 1000,
      observeMs: this.timed.observeMs,
      applyMs: this.timed.applyMs,
      healthy: seen.count,
      settled: seen.all && statuses.every((s) => s.fleet.rollout === 'complete'),
    };
    this.passes.push(pass);
    for (const w of [...this.waiters]) w(pass);
    return pass;
  }

  /** Passes every INTERVAL_MS, as the server's ReconcileLoop runs them. */
  run(): void {
    this.loop ??= new ReconcileLoop(() => this.pass().then(() => undefined), this.onError);
    this.loop.start(INTERVAL_MS);
  }

  /** No pass after the one under way. */
  async stop(): Promise<void> {
    const loop = this.loop;
    this.loop = null;
    await loop?.stop();
  }

  /** No pass after the one under way, and the cluster no longer followed. */
  async close(): Promise<void> {
    await this.stop();
    await this.agents.close();
  }

  /** The first pass from now on for which `done` holds. */
  until(done: (p: Pass) => boolean, timeoutMs: number, what: string): Promise<Pass> {
    return new Promise<Pass>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${what}: not within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const check = (p: Pass) => {
        if (!done(p)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(p);
      };
      this.waiters.add(check);
    });
  }

  /** Instances assigned to a host now, as this term wrote them. */
  assigned(host?: string): number {
    const all = this.agents.last()?.assignments;
    if (!all) return 0;
    if (host !== undefined) return all.get(host)?.size ?? 0;
    let n = 0;
    for (const m of all.values()) n += m.size;
    return n;
  }

  /** The host's state in the last pass's picture. */
  hostState(host: string): string | undefined {
    return this.agents.last()?.hosts.find((h) => h.name === host)?.state;
  }
}
