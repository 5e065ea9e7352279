import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import type { IngotError } from '../../domain/errors.js';
import type { ControlCoordination, Leadership } from '../../ports/coordination.js';
import type { EdgePort } from '../../ports/edge.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import { Controller, type ControllerDeps, type FleetStatus } from '../controller/index.js';
import { ReconcileLoop } from '../server/reconcile-loop.js';
import { ClusterAgents } from './cluster-agents.js';

export interface TermLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface TermDeps {
  readonly control: ControlCoordination;
  readonly fleets: FleetStore;
  readonly record: (event: LedgerEntryDraft) => void;
  readonly now: () => number;
  /** This server, as the ledger names it (`server@NAME`). */
  readonly actor: string;
  readonly admitted: ControllerDeps['admitted'];
  readonly log: TermLog;
  readonly intervalMs: number;
  /**
   * The edge in front of fleets with a service, the leader's while its term lasts: it routes
   * to instances on every host (their addresses are routed to from the servers), and is
   * stopped when the term ends so that the next leader's takes its listens.
   */
  readonly edge?: EdgePort & { stop(): Promise<void> };
  /** Times each reconcile pass (the server's metrics): start → end. */
  readonly reconcileTimer?: () => () => void;
}

/**
 * A server's term as leader: the controller, whose agent is every host of the cluster, runs
 * from begin() to end(); a standby has none. Its writes are fenced by the term's epoch in etcd
 * itself, so a term that ended without this process knowing yet writes nothing.
 */
export class Term {
  agents: ClusterAgents | null = null;
  private controller: Controller | null = null;
  private loop: ReconcileLoop | null = null;

  constructor(private readonly deps: TermDeps) {}

  /** The last pass's statuses, with placement's reasons (a standby has none). */
  status(): FleetStatus[] {
    const agents = this.agents;
    return (this.controller?.status() ?? []).map((s) => ({
      ...s,
      reasons: [...s.reasons, ...(agents?.reasonsOf(s.fleet.name) ?? [])],
    }));
  }

  kick(): void {
    this.loop?.kick();
  }

  begin(leadership: Leadership): void {
    const { deps } = this;
    const agents = new ClusterAgents({ ...deps, leadership });
    const controller = new Controller({
      fleets: deps.fleets,
      agent: agents,
      record: deps.record,
      now: deps.now,
      admitted: deps.admitted,
      ...(deps.edge && { edge: deps.edge }),
    });
    const loop = new ReconcileLoop(
      () => controller.reconcile().then(() => undefined),
      (err) => deps.log.error({ err }, 'reconcile failed; retrying'),
      deps.reconcileTimer,
    );
    this.agents = agents;
    this.controller = controller;
    this.loop = loop;
    loop.start(deps.intervalMs);
    loop.kick();
  }

  async end(): Promise<void> {
    const loop = this.loop;
    const agents = this.agents;
    this.loop = null;
    this.agents = null;
    this.controller = null;
    await loop?.stop();
    await agents?.close();
    await this.deps.edge
      ?.stop()
      .catch((err: unknown) => this.deps.log.error({ err }, 'the edge did not stop cleanly'));
  }
}

export interface CampaignSettings {
  readonly name: string;
  /** The leader lease's TTL: how long a dead leader holds the cluster up. */
  readonly ttlSeconds: number;
  readonly signal: AbortSignal;
  /** This server's API address, for the leader record. */
  readonly api: () => string;
  readonly log: TermLog;
}

/** Campaign, lead until the term is lost, stand by, campaign again; until the signal aborts. */
export async function campaignForever(
  control: ControlCoordination,
  term: Term,
  o: CampaignSettings,
): Promise<void> {
  while (!o.signal.aborted) {
    let leadership: Leadership;
    try {
      const api = o.api();
      leadership = await control.campaign(
        { name: o.name, ...(api !== '' && { api }) },
        { ttlSeconds: o.ttlSeconds, signal: o.signal },
      );
    } catch (err) {
      if (o.signal.aborted) return;
      o.log.warn({ err }, 'campaign failed; trying again');
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    o.log.info({ epoch: leadership.epoch }, 'leading');
    term.begin(leadership);
    const why = await Promise.race<IngotError | null>([
      leadership.lost,
      new Promise<null>((r) => o.signal.addEventListener('abort', () => r(null), { once: true })),
    ]);
    await term.end();
    if (why === null) {
      await leadership.resign().catch(() => undefined);
      return;
    }
    o.log.warn({ code: why.code, reason: why.message }, 'no longer leading; standing by');
  }
}
