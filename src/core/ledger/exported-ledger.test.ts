import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeEntry } from './entry.js';
import type { LedgerExport } from './export-format.js';
import { ExportedLedger } from './exported-ledger.js';
import { leafHash, treeHash, verifyInclusion } from './merkle.js';

const DIGESTS = ['sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64)];

/** An export of `n` entries: no nodes and no checkpoints (the view needs neither). */
function exportOf(n: number): LedgerExport {
  const entries = Array.from(
    { length: n },
    (_, seq) =>
      makeEntry(seq, {
        time: 1_764_000_000_000 + seq,
        actor: seq % 2 === 0 ? 'controller' : 'alice',
        kind: seq % 3 === 0 ? 'deploy' : 'instance-started',
        subjects: [DIGESTS[seq % 2]!],
        fleet: seq % 4 === 0 ? 'web' : 'api',
        instance: `i-${seq % 5}`,
        detail: { seq },
      }).body,
  );
  return { origin: 'o', vkey: 'v', size: n, entries, nodes: [], checkpoints: [] };
}

describe('a ledger export read as a ledger', () => {
  it('proves every entry against the root of every size, from the entries alone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 140 }), fc.nat(), fc.nat(), (n, a, b) => {
        const exported = exportOf(n);
        const view = new ExportedLedger(exported);
        const size = 1 + (a % n);
        const seq = b % size;
        const root = treeHash(exported.entries.slice(0, size).map((e) => leafHash(e)));
        const proof = view.inclusionProof(seq, size);
        expect(verifyInclusion(leafHash(exported.entries[seq]!), seq, size, proof, root)).toBe(
          true,
        );
        // Another entry's leaf does not verify with this proof.
        if (size > 1) {
          const other = (seq + 1) % size;
          expect(verifyInclusion(leafHash(exported.entries[other]!), seq, size, proof, root)).toBe(
            false,
          );
        }
      }),
    );
  });

  it('answers entry queries as the database does: filters, order, bounded limit', () => {
    const view = new ExportedLedger(exportOf(30));
    expect(view.entries({ fleet: 'web' }).map((e) => e.seq)).toEqual([0, 4, 8, 12, 16, 20, 24, 28]);
    expect(view.entries({ fleet: 'web', kind: 'deploy' }).map((e) => e.seq)).toEqual([0, 12, 24]);
    expect(view.entries({ from: 5, to: 9 }).map((e) => e.seq)).toEqual([5, 6, 7, 8]);
    expect(view.entries({ actor: 'alice', limit: 2, order: 'desc' }).map((e) => e.seq)).toEqual([
      29, 27,
    ]);
    expect(view.entries({ subject: DIGESTS[1]!, instance: 'i-1' }).map((e) => e.seq)).toEqual([
      1, 11, 21,
    ]);
    expect(view.entries({ limit: 0 })).toHaveLength(1);
  });

  it('refuses an export whose entry sits at another place, and proofs beyond its size', () => {
    const exported = exportOf(3);
    const swapped = { ...exported, entries: [exported.entries[1]!, exported.entries[0]!] };
    expect(() => new ExportedLedger(swapped)).toThrow(/exported entry 0 holds entry 1/);
    const view = new ExportedLedger(exported);
    expect(() => view.inclusionProof(0, 4)).toThrow(/has 3 entries, not 4/);
    expect(() => view.inclusionProof(3, 3)).toThrow(/no entry 3/);
  });

  it('takes the checkpoint of the largest size as the latest, whatever the order', () => {
    const view = new ExportedLedger({
      ...exportOf(2),
      checkpoints: [
        { size: 2, time: 1, note: 'b' },
        { size: 1, time: 2, note: 'a' },
      ],
    });
    expect(view.latestCheckpoint()?.note).toBe('b');
    expect(new ExportedLedger(exportOf(0)).latestCheckpoint()).toBeNull();
  });
});
