/**
 * One poll of the fleets' view for every open dashboard, however many: it runs only while a
 * stream is open, and a stream is sent the view only when it changed (the JSON differs), so
 * an idle fleet costs the browser nothing and the server one read per interval.
 */
export class Feed {
  readonly #subscribers = new Set<(json: string) => void>();
  #last: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #polling = false;

  constructor(
    private readonly read: () => Promise<unknown>,
    private readonly everyMs: number,
    private readonly failed: (err: unknown) => void,
  ) {}

  /** `send` gets the current view now (if known) and each change after; returns the unsubscribe. */
  subscribe(send: (json: string) => void): () => void {
    this.#subscribers.add(send);
    if (this.#last !== null) send(this.#last);
    if (this.#timer === null) {
      this.#timer = setInterval(() => void this.#poll(), this.everyMs);
      this.#timer.unref();
      void this.#poll();
    }
    return () => {
      this.#subscribers.delete(send);
      if (this.#subscribers.size === 0 && this.#timer !== null) {
        clearInterval(this.#timer);
        this.#timer = null;
        this.#last = null;
      }
    };
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const json = JSON.stringify(await this.read());
      if (json === this.#last || this.#subscribers.size === 0) return;
      this.#last = json;
      for (const send of this.#subscribers) send(json);
    } catch (err) {
      this.failed(err);
    } finally {
      this.#polling = false;
    }
  }
}
