/**
 * Time spent checking, for /metrics: what monitoring costs the host. A monotonic clock
 * (`performance.now`), so that a wall-clock step never counts as work.
 */
export class BusyMeter {
  private ms = 0;

  seconds(): number {
    return this.ms / 1000;
  }

  time<T>(work: () => T): T {
    const t0 = performance.now();
    try {
      return work();
    } finally {
      this.ms += performance.now() - t0;
    }
  }

  async timeAsync<T>(work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      this.ms += performance.now() - t0;
    }
  }
}
