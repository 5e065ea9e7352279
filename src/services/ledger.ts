import { makeEntry, type LedgerEntryDraft } from '../core/ledger/index.js';
import type { Outbox } from '../ports/outbox.js';

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
 * Nothing is dropped: a batch that fails to append stays queued and is tried again, and
 * with an `outbox` every event is written there before it is queued (it survives the process
 * being killed) and replayed by `recover()` on the next start. A crash between an append's commit and the outbox's rewrite replays that batch
 * once more: an event may then be recorded twice, never lost.
 */
export class LedgerRecorder {
  private queue: LedgerEntryDraft[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sinceCheckpoint = 0;
  private lastCheckpoint = 0;

  constructor(
    private readonly deps: LedgerRecorderDeps,
    private readonly options: {
      everyMs: number;
      everyEntries: number;
      batchMs: number;
      outbox?: Outbox;
    } = {
      everyMs: 10_000,
      everyEntries: 1000,
      batchMs: 100,
    },
  ) {}

  /** Append what the outbox holds from a run that ended before recording it. */
  async recover(): Promise<number> {
    const outbox = this.options.outbox;
    if (outbox === undefined) return 0;
    const drafts = outbox.read().map((d) => admissible(d as LedgerEntryDraft));
    if (drafts.length === 0) return 0;
    this.queue.unshift(...drafts);
    await this.flush();
    return drafts.length;
  }

  record(draft: LedgerEntryDraft): void {
    const entry = admissible(draft);
    if (this.options.outbox !== undefined)
      try {
        this.options.outbox.add(entry);
      } catch (err) {
        // Queued all the same: only a crash before the next flush could lose it now.
        this.deps.onError(err);
      }
    this.queue.push(entry);
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
      // Committed: whatever happens to the outbox now, the batch is not appended again.
      try {
        this.rewriteOutbox();
      } catch (err) {
        this.deps.onError(err);
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
      // Counted as an attempt even if it fails: a refusal (a rewritten log) is reported once
      // per interval, not on every tick.
      this.lastCheckpoint = now;
      await this.deps.checkpoint();
      this.sinceCheckpoint = 0;
    }
  }

  /** The outbox now holds exactly what is still queued. */
  private rewriteOutbox(): void {
    this.options.outbox?.replace(this.queue);
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}

/**
 * A draft the log would refuse (too large, malformed) must not block every entry after it:
 * it is replaced by a small entry that says what could not be recorded and why.
 */
function admissible(draft: LedgerEntryDraft): LedgerEntryDraft {
  try {
    makeEntry(0, draft);
    return draft;
  } catch (err) {
    return {
      time: draft.time,
      actor: typeof draft.actor === 'string' ? draft.actor.slice(0, 200) : 'unknown',
      kind: 'ledger-error',
      subjects: [],
      detail: {
        kind: String(draft.kind).slice(0, 100),
        error: (err instanceof Error ? err.message : String(err)).slice(0, 1000),
      },
    };
  }
}
