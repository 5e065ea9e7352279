import type { KeyObject } from 'node:crypto';
import {
  LedgerError,
  encodeVkey,
  noteSigner,
  openCheckpoint,
  parseVkey,
  signCheckpoint,
  verifyConsistency,
  type Checkpoint,
  type NoteSigner,
  type NoteVerifier,
  type StoredCheckpoint,
} from '../../core/ledger/index.js';
import { dialectOf } from './dialect.js';
import {
  consistencyProof,
  inTransaction,
  latestCheckpoint,
  rootAt,
  saveCheckpoint,
  treeSize,
  type LedgerDb,
} from './ledger.js';
import type { WriteGuard } from './writing.js';

/**
 * Signs checkpoints for the log, and refuses to sign one that does not extend the last it
 * can vouch for: the latest stored checkpoint (verified with its own key) and the last one
 * this process signed. Someone who rewrote the database file but does not hold the key gets
 * an error here instead of a valid signature over their history (C2SP: "a log MUST not sign
 * any checkpoint which is inconsistent with any checkpoint it previously signed").
 */
export class Checkpointer {
  readonly vkey: string;
  private readonly signer: NoteSigner;
  private readonly verifier: NoteVerifier;
  private last: Checkpoint | undefined;

  /**
   * `last`: the last checkpoint this log signed, kept outside the database (beside the
   * key): after a restart it is what a rewritten database must still extend, even if the
   * checkpoints stored in it were deleted too.
   */
  constructor(
    privateKey: KeyObject,
    readonly origin: string,
    last?: string,
  ) {
    this.signer = noteSigner(origin, privateKey);
    this.vkey = encodeVkey(origin, privateKey);
    this.verifier = parseVkey(this.vkey);
    if (last !== undefined) this.last = openCheckpoint(last, this.verifier, origin);
  }

  /**
   * A signed checkpoint for the log's current size, saved; the latest one if it is current.
   * Never inside another transaction: if that one rolled back, a signature would be out in
   * the world over entries that no longer exist, and the next entries at those seqs would
   * be a fork the log itself signed. It holds the append lock (PostgreSQL: no append lands
   * between reading the size and the root), and runs `guard` like any write.
   */
  async checkpoint(db: LedgerDb, time: number, guard?: WriteGuard): Promise<StoredCheckpoint> {
    if (db.isTransaction)
      throw new LedgerError(
        'E_LEDGER_TRANSACTION',
        'sign checkpoints after the entries commit, not inside a transaction',
      );
    const { saved, checkpoint } = await inTransaction(db, async (tx) => {
      await dialectOf(tx).lockForAppend(tx);
      if (guard) await guard(tx);
      const size = await treeSize(tx);
      const latest = await latestCheckpoint(tx);
      const stored = latest ? openCheckpoint(latest.note, this.verifier, this.origin) : undefined;
      const root = await rootAt(tx, size);
      for (const earlier of [stored, this.last]) {
        if (!earlier) continue;
        const proof =
          earlier.size <= size ? await consistencyProof(tx, earlier.size, size) : undefined;
        if (!proof || !verifyConsistency(earlier.size, size, proof, earlier.root, root))
          throw new LedgerError(
            'E_LEDGER_CONSISTENCY',
            `refusing to sign: the ledger (${size} entries) does not extend checkpoint ${earlier.size} signed earlier; its history was rewritten or truncated`,
            { details: { size, checkpoint: earlier.size } },
          );
      }
      if (latest && stored && stored.size === size) return { saved: latest, checkpoint: stored };
      const checkpoint: Checkpoint = { origin: this.origin, size, root };
      const note = signCheckpoint(checkpoint, this.signer);
      await saveCheckpoint(tx, { size, note, time });
      return { saved: { size, note, time }, checkpoint };
    });
    this.last = checkpoint; // committed: from now on, every checkpoint must extend it
    return saved;
  }
}
