import { IngotError } from '../../domain/errors.js';

/**
 * Errors of the ledger. The verification codes name what an auditor found broken, so that
 * a script reading `-o json` can tell an edited entry (E_LEDGER_ENTRY) from a rewritten
 * history (E_LEDGER_CONSISTENCY) without parsing the message.
 */
export type LedgerErrorCode =
  /** An entry is malformed, too large, not canonical, or does not hash to its leaf. */
  | 'E_LEDGER_ENTRY'
  /** Entries are missing, repeated or out of order. */
  | 'E_LEDGER_SEQ'
  /** A stored subtree hash is wrong, missing, or for a subtree that is not complete. */
  | 'E_LEDGER_NODE'
  /** A checkpoint's body is malformed. */
  | 'E_LEDGER_CHECKPOINT_INVALID'
  /** A checkpoint is not signed by the trusted key, or a signature on it is bad. */
  | 'E_LEDGER_CHECKPOINT_SIG'
  /** A checkpoint's root or size does not match the entries. */
  | 'E_LEDGER_CHECKPOINT_ROOT'
  /** A checkpoint names another log. */
  | 'E_LEDGER_CHECKPOINT_ORIGIN'
  /** The log is not an extension of a checkpoint trusted earlier: history was rewritten. */
  | 'E_LEDGER_CONSISTENCY'
  /** A signed note is malformed or too large. */
  | 'E_LEDGER_NOTE_INVALID'
  /** No signature on a note is by a known key. */
  | 'E_LEDGER_NOTE_UNKNOWN_KEY'
  /** A signature by a known key does not verify. */
  | 'E_LEDGER_NOTE_SIGNATURE'
  /** A verifier key ("name+keyid+base64") is malformed or its key ID does not match. */
  | 'E_LEDGER_VKEY'
  /** An exported ledger is malformed. */
  | 'E_LEDGER_EXPORT'
  /** A proof or root was asked for a size or index the log does not have. */
  | 'E_LEDGER_RANGE'
  /** Something that must commit on its own (signing a checkpoint) was run inside a transaction. */
  | 'E_LEDGER_TRANSACTION';

export class LedgerError extends IngotError<LedgerErrorCode> {}
