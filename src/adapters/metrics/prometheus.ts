import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The server's /metrics, in Prometheus' text format. */
export class ServerMetrics {
  private readonly registry = new Registry();
  private readonly instances: Gauge;
  private readonly reconcile: Histogram;

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
      help: 'Duration of one reconcile pass',
      registers: [this.registry],
    });
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
