import type {
  EntryQuery,
  LedgerEntry,
  LedgerEntryDraft,
  LedgerExport,
  StoredCheckpoint,
} from '../core/ledger/index.js';

/** Adding to the tamper-evident log: what every process that records events needs. */
export interface LedgerAppender {
  /** Append events in order, in one transaction; resolves with their seqs once durable. */
  append(drafts: readonly LedgerEntryDraft[]): Promise<number[]>;
}

/** Reading the log as it is now: what the dashboard's ledger view asks (no export needed). */
export interface LedgerReader {
  /** The verifier key of this log's checkpoints (C2SP vkey). */
  readonly vkey: string;
  entries(query: EntryQuery): Promise<LedgerEntry[]>;
  /** The latest `limit` signed checkpoints, newest first. */
  recentCheckpoints(limit: number): Promise<StoredCheckpoint[]>;
  /** RFC 9162 inclusion proof of entry `seq` in the tree of the first `size` entries. */
  inclusionProof(seq: number, size: number): Promise<Uint8Array[]>;
}

/** The log as its owner (the server) holds it: it appends, and signs checkpoints. */
export interface Ledger extends LedgerAppender, LedgerReader {
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
