import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The server's /metrics, in Prometheus' text format. */
export class ServerMetrics {
  private readonly registry = new Registry();
  private readonly instances: Gauge;
  private readonly reconcile: Histogram;

  /** `integritySeconds`: time spent measuring instances so far (read at each scrape). */
  constructor(integritySeconds: () => number) {
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
