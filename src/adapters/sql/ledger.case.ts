import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  formatLedgerExport,
  leafHash,
  makeEntry,
  openCheckpoint,
  parseLedgerExport,
  parseVkey,
  treeHash,
  verifyConsistency,
  verifyInclusion,
  verifyLedger,
} from '../../core/ledger/index.js';
import { Checkpointer } from './checkpointer.js';
import { dialectOf } from './dialect.js';
import { B, codeOf, draft, drafts, opener, type StateHarness } from './harness.case.js';
import {
  appendEntries,
  consistencyProof,
  entries,
  exportLedger,
  inclusionProof,
  latestCheckpoint,
  recentCheckpoints,
  rootAt,
  saveCheckpoint,
  treeSize,
  type LedgerDb,
} from './ledger.js';

const ORIGIN = 'ingot.test/ledger';

const leavesOf = (n: number) =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(makeEntry(i, draft(i)).body)));

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Every root, a sample of inclusion proofs and consistency proofs, against `leaves`. */
async function expectTree(db: LedgerDb, leaves: readonly Uint8Array[], step = 7): Promise<void> {
  const n = leaves.length;
  expect(await treeSize(db)).toBe(n);
  const root = await rootAt(db, n);
  expect(hex(root)).toBe(hex(treeHash(leaves)));
  for (let seq = 0; seq < n; seq += step) {
    const proof = await inclusionProof(db, seq, n);
    expect(verifyInclusion(leaves[seq]!, seq, n, proof, root), `inclusion ${seq}`).toBe(true);
  }
  for (let m = 0; m <= n; m += step) {
    const proof = await consistencyProof(db, m, n);
    expect(verifyConsistency(m, n, proof, await rootAt(db, m), root), `consistency ${m}`).toBe(
      true,
    );
  }
}

/** The ledger's functions on any handle of the engine: appends, proofs, queries, checkpoints. */
export function ledgerContract(h: StateHarness): void {
  const o = opener(h);

  describe('the ledger', () => {
    it('appends in batches of any size and proves every entry and every past size', async () => {
      const { db } = await o.fresh();
      let n = 0;
      for (const batch of [1, 1, 2, 7, 1, 50, 3, 64, 1, 13]) {
        const seqs = await appendEntries(db, drafts(n, batch));
        expect(seqs).toEqual(Array.from({ length: batch }, (_, i) => n + i));
        n += batch;
      }
      const leaves = leavesOf(n);
      for (let size = 0; size <= n; size++)
        expect(hex(await rootAt(db, size)), `root ${size}`).toBe(
          hex(treeHash(leaves.slice(0, size))),
        );
      await expectTree(db, leaves, 5);
      for (let seq = 0; seq < n; seq += 7) {
        const older = Math.max(seq + 1, Math.floor(n / 2));
        const proof = await inclusionProof(db, seq, older);
        expect(verifyInclusion(leaves[seq]!, seq, older, proof, await rootAt(db, older))).toBe(
          true,
        );
      }
      // Exactly the complete aligned subtrees are stored: sum of floor(n / 2^level).
      const rows = await sql<{ c: number }>`select count(*) as c from ledger_nodes`.execute(db);
      let expected = 0;
      for (let w = 1; w <= n; w *= 2) expected += Math.floor(n / w);
      expect(Number(rows.rows[0]!.c)).toBe(expected);
    });

    it('refuses proofs for sizes and entries the log does not have', async () => {
      const { db } = await o.fresh();
      await appendEntries(db, [draft(0), draft(1)]);
      expect(await codeOf(rootAt(db, 3))).toBe('E_LEDGER_RANGE');
      expect(await codeOf(inclusionProof(db, 2, 2))).toBe('E_LEDGER_RANGE');
      expect(await codeOf(inclusionProof(db, 0, 3))).toBe('E_LEDGER_RANGE');
      expect(await codeOf(consistencyProof(db, 2, 1))).toBe('E_LEDGER_RANGE');
      expect(await codeOf(consistencyProof(db, -1, 2))).toBe('E_LEDGER_RANGE');
    });

    it('commits with the action it records, or not at all', async () => {
      const { db } = await o.fresh();
      const action = {
        time: 1,
        fleet: 'web',
        kind: 'deploy',
        detail: 'deploy web',
        actor: 'admin',
      };
      await appendEntries(db, [draft(0)]);
      await expect(
        db.transaction().execute(async (tx) => {
          await tx.insertInto('history').values(action).execute();
          await appendEntries(tx, [draft(1), draft(2)]);
          expect(await treeSize(tx)).toBe(3);
          throw new Error('the deploy failed');
        }),
      ).rejects.toThrow('the deploy failed');
      expect(await treeSize(db)).toBe(1);
      expect(await db.selectFrom('history').selectAll().execute()).toEqual([]);

      await db.transaction().execute(async (tx) => {
        await tx.insertInto('history').values(action).execute();
        expect(await appendEntries(tx, [draft(1)])).toEqual([1]);
        expect(await appendEntries(tx, [draft(2), draft(3)])).toEqual([2, 3]);
      });
      expect(await treeSize(db)).toBe(4);
      expect(hex(await rootAt(db, 4))).toBe(hex(treeHash(leavesOf(4))));
    });

    it('writes nothing when any entry of a batch is invalid', async () => {
      const { db } = await o.fresh();
      await appendEntries(db, [draft(0)]);
      expect(await codeOf(appendEntries(db, [draft(1), draft(2, { kind: 'Not A Kind' })]))).toBe(
        'E_LEDGER_ENTRY',
      );
      expect(await treeSize(db)).toBe(1);
    });

    it('serialises concurrent appends from one handle', async () => {
      const { db } = await o.fresh();
      await Promise.all(
        Array.from({ length: 10 }, (_, k) => appendEntries(db, [draft(2 * k), draft(2 * k + 1)])),
      );
      expect((await entries(db)).map((e) => e.seq)).toEqual(
        Array.from({ length: 20 }, (_, i) => i),
      );
    });

    it('is append-only through SQL', async () => {
      const { db } = await o.fresh();
      await appendEntries(db, [draft(0), draft(1)]);
      const statements = [
        sql`update ledger_entries set body = '{}' where seq = 0`,
        sql`delete from ledger_entries where seq = 1`,
        sql`update ledger_nodes set hash = ${Buffer.from([0])} where level = 0`,
        sql`delete from ledger_nodes`,
      ];
      if (dialectOf(db).engine === 'postgres')
        statements.push(sql`truncate ledger_entries`, sql`truncate ledger_nodes`);
      for (const statement of statements)
        await expect(statement.execute(db)).rejects.toThrow(/append-only/);
      expect(await treeSize(db)).toBe(2);
    });

    it('lists entries by range and by field', async () => {
      const { db } = await o.fresh();
      await appendEntries(
        db,
        Array.from({ length: 30 }, (_, i) => draft(i, i === 7 ? { instance: 'web-7' } : {})),
      );
      const seqs = async (q: Parameters<typeof entries>[1]) =>
        (await entries(db, q)).map((e) => e.seq);
      expect(await seqs({ from: 10, to: 13 })).toEqual([10, 11, 12]);
      expect((await entries(db, { kind: 'drift' })).every((e) => e.kind === 'drift')).toBe(true);
      expect((await entries(db, { kind: 'drift' })).length).toBe(10);
      expect(await seqs({ fleet: 'api', actor: 'user:alice' })).toEqual([
        0, 4, 8, 12, 16, 20, 24, 28,
      ]);
      expect(await seqs({ subject: B })).toEqual([0, 5, 10, 15, 20, 25]);
      expect(await seqs({ instance: 'web-7' })).toEqual([7]);
      expect(await seqs({ order: 'desc', limit: 2 })).toEqual([29, 28]);
      expect(await seqs({ subject: `sha256:${'c'.repeat(64)}` })).toEqual([]);
    });

    it('keeps its numbers at scale: 5,000 entries in uneven batches', async () => {
      const { db } = await o.fresh();
      let n = 0;
      while (n < 5000) {
        const batch = Math.min(5000 - n, 1 + ((n * 7919) % 997));
        await appendEntries(db, drafts(n, batch));
        n += batch;
      }
      const leaves = leavesOf(n);
      expect(hex(await rootAt(db, n))).toBe(hex(treeHash(leaves)));
      expect(hex(await rootAt(db, 3333))).toBe(hex(treeHash(leaves.slice(0, 3333))));
      const proof = await inclusionProof(db, 4321, n);
      expect(verifyInclusion(leaves[4321]!, 4321, n, proof, await rootAt(db, n))).toBe(true);
    });
  });

  describe('checkpoints', () => {
    it('signs checkpoints that verify, one per size', async () => {
      const { db } = await o.fresh();
      const { privateKey } = generateKeyPairSync('ed25519');
      const signer = new Checkpointer(privateKey, ORIGIN);
      const verifier = parseVkey(signer.vkey);
      expect(await latestCheckpoint(db)).toBeNull();
      const empty = await signer.checkpoint(db, 1);
      expect(openCheckpoint(empty.note, verifier).size).toBe(0);

      await appendEntries(db, drafts(0, 11));
      const first = await signer.checkpoint(db, 2);
      const opened = openCheckpoint(first.note, verifier);
      expect(opened.size).toBe(11);
      expect(hex(opened.root)).toBe(hex(await rootAt(db, 11)));
      expect(await signer.checkpoint(db, 3)).toEqual(first); // nothing new: no new signature
      expect(await latestCheckpoint(db)).toEqual(first);
      expect(await saveCheckpoint(db, { ...first, time: 9 })).toBe(false);
      // What the dashboard lists: newest (largest) first, as many as asked.
      expect(await recentCheckpoints(db, 10)).toEqual([first, empty]);
      expect(await recentCheckpoints(db, 1)).toEqual([first]);

      expect(await codeOf(db.transaction().execute((tx) => signer.checkpoint(tx, 4)))).toBe(
        'E_LEDGER_TRANSACTION',
      );
      expect(await codeOf(saveCheckpoint(db, { ...first, size: 12 }))).toBe(
        'E_LEDGER_CHECKPOINT_INVALID',
      );
    });

    it('refuses to sign over a history rewritten in the database', async () => {
      const { db } = await o.fresh();
      const { privateKey } = generateKeyPairSync('ed25519');
      const signer = new Checkpointer(privateKey, ORIGIN);
      await appendEntries(db, drafts(0, 8));
      await signer.checkpoint(db, 1);
      // Someone who owns the tables: drops the triggers, edits entry 3, recomputes every node.
      await h.dropAppendOnly(db);
      const forged = Array.from({ length: 8 }, (_, i) =>
        draft(i, i === 3 ? { detail: { i, forged: true } } : {}),
      );
      await sql`delete from ledger_entries`.execute(db);
      await sql`delete from ledger_nodes`.execute(db);
      await appendEntries(db, forged);
      await appendEntries(db, [draft(8)]);
      expect(await codeOf(signer.checkpoint(db, 2))).toBe('E_LEDGER_CONSISTENCY');
      // A fresh process trusts the stored checkpoint, verified with its key: same refusal.
      expect(await codeOf(new Checkpointer(privateKey, ORIGIN).checkpoint(db, 2))).toBe(
        'E_LEDGER_CONSISTENCY',
      );
      // And a truncated log, with the checkpoint rows deleted too: this process remembers.
      await sql`delete from ledger_checkpoints`.execute(db);
      await sql`delete from ledger_entries where seq >= 4`.execute(db);
      await sql`delete from ledger_nodes where (idx + 1) * (1 << level) > 4`.execute(db);
      expect(await codeOf(signer.checkpoint(db, 3))).toBe('E_LEDGER_CONSISTENCY');
    });

    it('exports what the offline verifier accepts, and what it catches when a row is edited', async () => {
      const { db } = await o.fresh();
      const { privateKey } = generateKeyPairSync('ed25519');
      const signer = new Checkpointer(privateKey, ORIGIN);
      await appendEntries(db, drafts(0, 20));
      const trusted = (await signer.checkpoint(db, 1)).note;
      await appendEntries(db, drafts(20, 17));
      await signer.checkpoint(db, 2);

      const header = { origin: ORIGIN, vkey: signer.vkey };
      const text = formatLedgerExport(await exportLedger(db, header));
      const verdict = verifyLedger(parseLedgerExport(text), { vkey: signer.vkey, trusted });
      expect(verdict).toMatchObject({ ok: true, size: 37, checkpoints: 2, anchored: 37 });

      await h.dropAppendOnly(db);
      const body = makeEntry(12, draft(12, { actor: 'someone-else' })).body;
      await sql`update ledger_entries set body = ${body} where seq = 12`.execute(db);
      expect(verifyLedger(await exportLedger(db, header), { vkey: signer.vkey })).toMatchObject({
        ok: false,
        code: 'E_LEDGER_ENTRY',
        seq: 12,
      });
    });
  });
}
