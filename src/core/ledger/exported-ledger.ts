import { decodeEntry, type LedgerEntry } from './entry.js';
import { entryLimit, matchesQuery, type EntryQuery } from './entry-query.js';
import { LedgerError } from './errors.js';
import type { LedgerExport, StoredCheckpoint } from './export-format.js';
import { inclusionProof, leafHash } from './merkle.js';
import { TreeBuilder } from './tree-builder.js';

/**
 * An export read as a ledger: the questions an auditor asks a database (entries, the latest
 * checkpoint, inclusion proofs), answered from a file or a server's answer. Proofs come from
 * a tree recomputed here from the entries' bytes, never from the nodes the export claims:
 * whoever produced the export is not trusted to have hashed honestly (verifyLedger compares
 * those nodes with this tree).
 */
export class ExportedLedger {
  private readonly decoded: LedgerEntry[];
  private readonly subtrees = new Map<string, Uint8Array>();

  constructor(readonly exported: LedgerExport) {
    const builder = new TreeBuilder();
    this.decoded = exported.entries.map((body, seq) => {
      const entry = decodeEntry(body, `exported entry ${seq}`);
      if (entry.seq !== seq)
        throw new LedgerError('E_LEDGER_SEQ', `exported entry ${seq} holds entry ${entry.seq}`);
      builder.push(leafHash(body), (level, index, hash) =>
        this.subtrees.set(`${level}/${index}`, hash),
      );
      return entry;
    });
  }

  get size(): number {
    return this.decoded.length;
  }

  entries(query: EntryQuery = {}): LedgerEntry[] {
    const found = this.decoded.filter((e) => matchesQuery(e, query));
    if (query.order === 'desc') found.reverse();
    return found.slice(0, entryLimit(query));
  }

  latestCheckpoint(): StoredCheckpoint | null {
    let latest: StoredCheckpoint | null = null;
    for (const c of this.exported.checkpoints) if (!latest || c.size > latest.size) latest = c;
    return latest;
  }

  /** The inclusion proof of entry `seq` in the tree of the first `size` entries. */
  inclusionProof(seq: number, size: number): Uint8Array[] {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size)
      throw new LedgerError(
        'E_LEDGER_RANGE',
        `inclusion proof: the ledger has ${this.size} entries, not ${size}`,
      );
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= size)
      throw new LedgerError('E_LEDGER_RANGE', `no entry ${seq} in a log of ${size}`);
    return inclusionProof(seq, size, (level, index) => {
      const hash = this.subtrees.get(`${level}/${index}`);
      // Every complete subtree of the tree was recorded as it formed.
      if (hash === undefined) throw new RangeError(`no subtree ${level}/${index}`);
      return hash;
    });
  }
}
