import type { LedgerEntryDraft, StoredCheckpoint } from '../../core/ledger/index.js';
import type { Ledger } from '../../ports/ledger.js';
import type { Checkpointer } from './checkpointer.js';
import { writing } from './writing.js';
import { appendEntries, latestCheckpoint, type LedgerDb } from './ledger.js';

/**
 * Append in one transaction that takes the write lock first (writing.ts): the CLI and the
 * server append to the same state.db.
 */
export async function appendLocked(
  db: LedgerDb,
  drafts: readonly LedgerEntryDraft[],
): Promise<number[]> {
  if (drafts.length === 0) return [];
  return writing(db, (tx) => appendEntries(tx, drafts));
}

/** The ledger in state.db, as its owner holds it: appends, and checkpoints signed with its key. */
export class SqliteLedger implements Ledger {
  constructor(
    private readonly db: LedgerDb,
    private readonly checkpointer: Checkpointer,
  ) {}

  append(drafts: readonly LedgerEntryDraft[]): Promise<number[]> {
    return appendLocked(this.db, drafts);
  }

  checkpoint(time: number): Promise<StoredCheckpoint> {
    return this.checkpointer.checkpoint(this.db, time);
  }

  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return latestCheckpoint(this.db);
  }
}
