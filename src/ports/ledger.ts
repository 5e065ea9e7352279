import type { LedgerEntryDraft, LedgerExport, StoredCheckpoint } from '../core/ledger/index.js';

/** Adding to the tamper-evident log: what every process that records events needs. */
export interface LedgerAppender {
  /** Append events in order, in one transaction; resolves with their seqs once durable. */
  append(drafts: readonly LedgerEntryDraft[]): Promise<number[]>;
}

/** The log as its owner (the server) holds it: it appends, and signs checkpoints. */
export interface Ledger extends LedgerAppender {
  /**
   * Sign and keep a checkpoint for the log as it is now (the latest one, if it is current).
   * Refuses to sign a log that does not extend every checkpoint signed before: a rewritten
   * history gets an error, never a signature.
   */
  checkpoint(time: number): Promise<StoredCheckpoint>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  /** Everything an auditor needs, in one consistent read (headed with this log's key). */
  export(): Promise<LedgerExport>;
}
