import type { LedgerEntryDraft, StoredCheckpoint } from '../../core/ledger/index.js';
import type { Ledger } from '../../ports/ledger.js';
import type { Checkpointer } from './checkpointer.js';
import { writing } from './writing.js';
import { appendEntries, latestCheckpoint, type LedgerDb } from './ledger.js';

/** The ledger in state.db, as its owner holds it: appends, and checkpoints signed with its key. */
export class SqliteLedger implements Ledger {
  constructor(
    private readonly db: LedgerDb,
    private readonly checkpointer: Checkpointer,
  ) {}

  async append(drafts: readonly LedgerEntryDraft[]): Promise<number[]> {
    if (drafts.length === 0) return [];
    return writing(this.db, (tx) => appendEntries(tx, drafts));
  }

  checkpoint(time: number): Promise<StoredCheckpoint> {
    return this.checkpointer.checkpoint(this.db, time);
  }

  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return latestCheckpoint(this.db);
  }
}
