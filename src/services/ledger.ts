import type { LedgerEntryDraft } from '../core/ledger/index.js';

export interface LedgerRecorderDeps {
  /** Append a batch in one transaction (the fleet store's). */
  readonly append: (drafts: readonly LedgerEntryDraft[]) => Promise<unknown>;
  /** Sign a checkpoint for the log as it is now (after the batch committed). */
  readonly checkpoint: () => Promise<unknown>;
  readonly onError: (err: unknown) => void;
}

/**
 * Events that no other write records (an instance started or stopped on the host, a drift
 * finding, an admission decision) are queued and appended in batches: one transaction, one
 * fsync, however many instances changed at once. Checkpoints are signed every `everyMs`
 * or after `everyEntries` new entries, whichever comes first, and on demand.
 *
 * Nothing is dropped: a batch that fails to append stays queued and is tried again.
 */
export class LedgerRecorder {
  private queue: LedgerEntryDraft[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sinceCheckpoint = 0;
  private lastCheckpoint = 0;

  constructor(
    private readonly deps: LedgerRecorderDeps,
    private readonly options: { everyMs: number; everyEntries: number; batchMs: number } = {
      everyMs: 10_000,
      everyEntries: 1000,
      batchMs: 100,
    },
  ) {}

  record(draft: LedgerEntryDraft): void {
    this.queue.push(draft);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush().catch(this.deps.onError);
    }, this.options.batchMs);
  }

  /** Everything queued, appended; resolves when it is durable. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = (async () => {
      try {
        await this.deps.append(batch);
        this.sinceCheckpoint += batch.length;
      } catch (err) {
        this.queue = [...batch, ...this.queue];
        throw err;
      }
    })().finally(() => (this.flushing = null));
    await this.flushing;
  }

  /**
   * Sign a checkpoint if the log grew and one is due (`force`: whenever it grew). Entries
   * the fleet store wrote itself count too: the checkpointer signs whatever size it finds.
   */
  async maybeCheckpoint(now: number, force = false): Promise<void> {
    await this.flush();
    if (
      force ||
      this.sinceCheckpoint >= this.options.everyEntries ||
      now - this.lastCheckpoint >= this.options.everyMs
    ) {
      await this.deps.checkpoint();
      this.sinceCheckpoint = 0;
      this.lastCheckpoint = now;
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
