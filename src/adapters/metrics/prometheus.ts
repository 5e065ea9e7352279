import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import {
  COUNTERS,
  countersOf,
  OTHER,
  type CounterName,
} from '../../core/metrics/ledger-metrics.js';

/**
 * Distinct fleet labels kept at most; past it, new fleets count as "other". Fleet names are
 * validated, but who writes events (a deploy, a cluster's host) chooses them: each one is a
 * series per counter, held in memory for the life of the process.
 */
export const MAX_FLEET_LABELS = 1000;

/** The server's /metrics, in Prometheus' text format. */
export class ServerMetrics {
  private readonly registry = new Registry();
  private readonly instances: Gauge;
  private readonly reconcile: Histogram;
  private readonly counters: Record<CounterName, Counter>;
  private readonly fleets = new Set<string>();

  /**
   * `integritySeconds`: time spent measuring instances so far; `checkpoints`: whether the
   * ledger's checkpoints are being signed (both read at each scrape).
   */
  constructor(
    integritySeconds: () => number,
    checkpoints: () => {
      readonly checkpoints: 'ok' | 'failing';
      readonly failures: number;
      readonly lastSigned?: number;
    } = () => ({ checkpoints: 'ok', failures: 0 }),
  ) {
    new Gauge({
      name: 'ingot_ledger_checkpoint_failing',
      help: '1 while ledger checkpoints cannot be signed: entries since the last one are vouched for by nothing',
      registers: [this.registry],
      collect() {
        this.set(checkpoints().checkpoints === 'failing' ? 1 : 0);
      },
    });
    new Counter({
      name: 'ingot_ledger_checkpoint_failures_total',
      help: 'Attempts to sign a ledger checkpoint that failed',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(checkpoints().failures);
      },
    });
    new Gauge({
      name: 'ingot_ledger_checkpoint_last_signed_seconds',
      help: 'When the last ledger checkpoint was signed (Unix time; 0: none in this run)',
      registers: [this.registry],
      collect() {
        this.set((checkpoints().lastSigned ?? 0) / 1000);
      },
    });
    this.instances = new Gauge({
      name: 'ingot_instances',
      help: 'Instances by fleet and state',
      labelNames: ['fleet', 'state'],
      registers: [this.registry],
    });
    new Counter({
      name: 'ingot_integrity_seconds_total',
      help: 'Time spent measuring instances: file events, processes, mounts, full verifications',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(integritySeconds());
      },
    });
    this.reconcile = new Histogram({
      name: 'ingot_reconcile_seconds',
      help: 'Duration of one reconcile pass of every fleet, in seconds',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.counters = Object.fromEntries(
      Object.entries(COUNTERS).map(([name, c]) => [
        name,
        new Counter({ name, help: c.help, labelNames: c.labels, registers: [this.registry] }),
      ]),
    ) as Record<CounterName, Counter>;
  }

  /** Count what a recorded ledger event says (core/metrics/ledger-metrics.ts). */
  observe(entry: LedgerEntryDraft): void {
    for (const sample of countersOf(entry)) {
      const labels = { ...sample.labels };
      if (labels['fleet'] !== undefined) labels['fleet'] = this.fleetLabel(labels['fleet']);
      this.counters[sample.name].inc(labels);
    }
  }

  private fleetLabel(fleet: string): string {
    if (this.fleets.has(fleet) || fleet === OTHER) return fleet;
    if (this.fleets.size >= MAX_FLEET_LABELS) return OTHER;
    this.fleets.add(fleet);
    return fleet;
  }

  /** Start timing a reconcile pass; call the result when it ends. */
  reconcileTimer(): () => void {
    return this.reconcile.startTimer();
  }

  /** Every instance the last pass saw, by fleet and state. */
  setInstances(instances: readonly { readonly fleet: string; readonly state: string }[]): void {
    this.instances.reset();
    for (const i of instances) this.instances.inc({ fleet: i.fleet, state: i.state });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
