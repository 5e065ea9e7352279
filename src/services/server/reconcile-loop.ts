/**
 * When the controller reconciles: every `everyMs`, and at once when asked (after a deploy).
 * Passes never overlap and never pile up: asking while one runs asks for exactly one more
 * after it. Nothing is asked once the loop is stopping.
 */
export class ReconcileLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private busy = false;
  private again = false;
  private closing = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
    /** Times each pass, failed ones too (the server's `ingot_reconcile_seconds`): start → end. */
    private readonly timePass: () => () => void = () => () => undefined,
  ) {}

  start(everyMs: number): void {
    this.timer ??= setInterval(() => this.kick(), everyMs);
  }

  /** A pass now, or right after the one under way. */
  kick(): void {
    if (this.closing) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.running = (async () => {
      do {
        this.again = false;
        const end = this.timePass();
        try {
          await this.pass();
        } catch (err) {
          this.onError(err);
        } finally {
          end();
        }
      } while (this.again && !this.closing);
      this.busy = false;
    })();
  }

  /** No more passes; resolves when the one under way (if any) has ended. */
  async stop(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
