import type {
  EntryQuery,
  LedgerEntry,
  LedgerEntryDraft,
  LedgerExport,
  StoredCheckpoint,
} from '../../core/ledger/index.js';
import type { Ledger } from '../../ports/ledger.js';
import type { Checkpointer } from './checkpointer.js';
import { writing, type WriteGuard } from './writing.js';
import {
  appendEntries,
  entries,
  exportLedger,
  inclusionProof,
  latestCheckpoint,
  recentCheckpoints,
  type LedgerDb,
} from './ledger.js';

/**
 * Append in one write transaction (writing.ts): the writer lock first, then the guard. The
 * CLI and the server append to the same state.db; two servers to the same PostgreSQL.
 */
export async function appendLocked(
  db: LedgerDb,
  drafts: readonly LedgerEntryDraft[],
  guard?: WriteGuard,
): Promise<number[]> {
  if (drafts.length === 0) return [];
  return writing(db, (tx) => appendEntries(tx, drafts), guard);
}

/** The ledger in the state's database, as its owner holds it: appends, and signed checkpoints. */
export class SqlLedger implements Ledger {
  constructor(
    private readonly db: LedgerDb,
    private readonly checkpointer: Checkpointer,
    private readonly guard?: WriteGuard,
  ) {}

  append(drafts: readonly LedgerEntryDraft[]): Promise<number[]> {
    return appendLocked(this.db, drafts, this.guard);
  }

  checkpoint(time: number): Promise<StoredCheckpoint> {
    return this.checkpointer.checkpoint(this.db, time, this.guard);
  }

  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return latestCheckpoint(this.db);
  }

  get vkey(): string {
    return this.checkpointer.vkey;
  }

  entries(query: EntryQuery): Promise<LedgerEntry[]> {
    return entries(this.db, query);
  }

  recentCheckpoints(limit: number): Promise<StoredCheckpoint[]> {
    return recentCheckpoints(this.db, limit);
  }

  inclusionProof(seq: number, size: number): Promise<Uint8Array[]> {
    return inclusionProof(this.db, seq, size);
  }

  export(): Promise<LedgerExport> {
    return exportLedger(this.db, {
      origin: this.checkpointer.origin,
      vkey: this.checkpointer.vkey,
    });
  }
}
