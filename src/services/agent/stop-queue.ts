/**
 * Stops, a few at a time, in the background. Each waits out its instance's grace, and a
 * program that ignores SIGTERM (busybox httpd or Python as PID 1) takes all of it: when an
 * apply waited for its stops, the starts it queued waited too, and rolling three instances
 * took 38 s although each new one was healthy in 60 ms. Here a stop is tracked by its
 * instance id until it has ended, so that the same id (names are deterministic per release)
 * is never started again while its old container may still be there.
 */
export class StopQueue {
  /** Stops asked for and not ended, by instance id; each settles (never rejects) at its end. */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;

  constructor(
    private readonly limit: number,
    private readonly run: (id: string) => Promise<void>,
  ) {}

  /** Whether a stop of `id` is asked for and not ended. */
  has(id: string): boolean {
    return this.pending.has(id);
  }

  /** Resolves when the stop of `id` under way (if any) has ended, whatever its outcome. */
  ended(id: string): Promise<void> | undefined {
    return this.pending.get(id);
  }

  /**
   * Stop `id` when a slot is free; a stop already asked for is not asked twice (its promise
   * then resolves at once: the first caller hears of its outcome).
   */
  stop(id: string): Promise<void> {
    if (this.pending.has(id)) return Promise.resolve();
    const done = this.slot()
      .then(() => this.run(id))
      .finally(() => {
        this.active--;
        this.pending.delete(id);
        this.waiting.shift()?.();
      });
    this.pending.set(
      id,
      done.then(
        () => undefined,
        () => undefined,
      ),
    );
    return done;
  }

  /** Resolves once every stop asked for so far has ended. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()]);
  }

  private slot(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((go) =>
      this.waiting.push(() => {
        this.active++;
        go();
      }),
    );
  }
}
