import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
  type LedgerEntryDraft,
} from '../../core/ledger/index.js';
import { Checkpointer } from '../sql/checkpointer.js';
import { stateMigrations } from '../sql/migrations.js';
import {
  appendEntries,
  consistencyProof,
  entries,
  exportLedger,
  inclusionProof,
  latestCheckpoint,
  rootAt,
  saveCheckpoint,
  treeSize,
  type LedgerDb,
} from '../sql/ledger.js';

const ORIGIN = 'ingot.test/ledger';
const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

const draft = (i: number, over: Partial<LedgerEntryDraft> = {}): LedgerEntryDraft => ({
  time: 1_764_000_000_000 + i,
  actor: i % 2 ? 'controller' : 'user:alice',
  kind: ['deploy', 'instance-started', 'drift'][i % 3]!,
  subjects: i % 5 === 0 ? [A, B] : [A],
  fleet: i % 4 === 0 ? 'api' : 'web',
  detail: { i },
  ...over,
});

let dir: string;
let database: SQLite.Database;
let db: LedgerDb;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ingot-ledger-'));
  database = new SQLite(join(dir, 'state.db'));
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  db = new Kysely({ dialect: new SqliteDialect({ database }) });
  // The whole of state.db: the ledger commits with the fleet store's actions.
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(stateMigrations) },
  }).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error('migration failed');
});

afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const leavesOf = (n: number) =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(makeEntry(i, draft(i)).body)));

describe('the SQLite ledger', () => {
  it('appends in batches of any size and proves every entry and every past size', async () => {
    let n = 0;
    for (const batch of [1, 1, 2, 7, 1, 50, 3, 64, 1, 13]) {
      const seqs = await appendEntries(
        db,
        Array.from({ length: batch }, (_, i) => draft(n + i)),
      );
      expect(seqs).toEqual(Array.from({ length: batch }, (_, i) => n + i));
      n += batch;
    }
    expect(await treeSize(db)).toBe(n);
    const leaves = leavesOf(n);
    for (let size = 0; size <= n; size++)
      expect(Buffer.from(await rootAt(db, size)).toString('hex'), `root ${size}`).toBe(
        Buffer.from(treeHash(leaves.slice(0, size))).toString('hex'),
      );
    const root = await rootAt(db, n);
    for (let seq = 0; seq < n; seq += 7) {
      const proof = await inclusionProof(db, seq, n);
      expect(verifyInclusion(leaves[seq]!, seq, n, proof, root)).toBe(true);
      const older = Math.max(seq + 1, Math.floor(n / 2));
      const proofThen = await inclusionProof(db, seq, older);
      expect(verifyInclusion(leaves[seq]!, seq, older, proofThen, await rootAt(db, older))).toBe(
        true,
      );
    }
    for (let m = 0; m <= n; m += 5) {
      const proof = await consistencyProof(db, m, n);
      expect(verifyConsistency(m, n, proof, await rootAt(db, m), root)).toBe(true);
    }
    // Exactly the complete aligned subtrees are stored: sum of floor(n / 2^level).
    const rows = await sql<{ c: number }>`select count(*) as c from ledger_nodes`.execute(db);
    let expected = 0;
    for (let w = 1; w <= n; w *= 2) expected += Math.floor(n / w);
    expect(rows.rows[0]!.c).toBe(expected);
  });

  it('refuses proofs for sizes and entries the log does not have', async () => {
    await appendEntries(db, [draft(0), draft(1)]);
    const code = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: { code?: string }) => e.code,
      );
    expect(await code(rootAt(db, 3))).toBe('E_LEDGER_RANGE');
    expect(await code(inclusionProof(db, 2, 2))).toBe('E_LEDGER_RANGE');
    expect(await code(inclusionProof(db, 0, 3))).toBe('E_LEDGER_RANGE');
    expect(await code(consistencyProof(db, 2, 1))).toBe('E_LEDGER_RANGE');
    expect(await code(consistencyProof(db, -1, 2))).toBe('E_LEDGER_RANGE');
  });

  it('commits with the action it records, or not at all', async () => {
    const action = { seq: undefined, time: 1, fleet: 'web', kind: 'deploy', detail: 'deploy web' };
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
    expect(Buffer.from(await rootAt(db, 4)).equals(Buffer.from(treeHash(leavesOf(4))))).toBe(true);
  });

  it('writes nothing when any entry of a batch is invalid', async () => {
    await appendEntries(db, [draft(0)]);
    await expect(
      appendEntries(db, [draft(1), draft(2, { kind: 'Not A Kind' })]),
    ).rejects.toMatchObject({
      code: 'E_LEDGER_ENTRY',
    });
    expect(await treeSize(db)).toBe(1);
  });

  it('serialises concurrent appends from one process', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, k) => appendEntries(db, [draft(2 * k), draft(2 * k + 1)])),
    );
    expect(await treeSize(db)).toBe(20);
    const all = await entries(db);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('is append-only through SQL', async () => {
    await appendEntries(db, [draft(0), draft(1)]);
    for (const statement of [
      sql`update ledger_entries set body = '{}' where seq = 0`,
      sql`delete from ledger_entries where seq = 1`,
      sql`update ledger_nodes set hash = x'00' where level = 0`,
      sql`delete from ledger_nodes`,
    ])
      await expect(statement.execute(db)).rejects.toThrow(/append-only/);
  });

  it('lists entries by range and by field', async () => {
    await appendEntries(
      db,
      Array.from({ length: 30 }, (_, i) => draft(i, i === 7 ? { instance: 'web-7' } : {})),
    );
    expect((await entries(db, { from: 10, to: 13 })).map((e) => e.seq)).toEqual([10, 11, 12]);
    expect((await entries(db, { kind: 'drift' })).every((e) => e.kind === 'drift')).toBe(true);
    expect((await entries(db, { kind: 'drift' })).length).toBe(10);
    expect((await entries(db, { fleet: 'api', actor: 'user:alice' })).map((e) => e.seq)).toEqual([
      0, 4, 8, 12, 16, 20, 24, 28,
    ]);
    expect((await entries(db, { subject: B })).map((e) => e.seq)).toEqual([0, 5, 10, 15, 20, 25]);
    expect((await entries(db, { instance: 'web-7' })).map((e) => e.seq)).toEqual([7]);
    expect((await entries(db, { order: 'desc', limit: 2 })).map((e) => e.seq)).toEqual([29, 28]);
  });

  it('signs checkpoints that verify, one per size', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = new Checkpointer(privateKey, ORIGIN);
    const verifier = parseVkey(signer.vkey);
    expect(await latestCheckpoint(db)).toBeNull();
    const empty = await signer.checkpoint(db, 1);
    expect(openCheckpoint(empty.note, verifier).size).toBe(0);

    await appendEntries(
      db,
      Array.from({ length: 11 }, (_, i) => draft(i)),
    );
    const first = await signer.checkpoint(db, 2);
    const opened = openCheckpoint(first.note, verifier);
    expect(opened.size).toBe(11);
    expect(Buffer.from(opened.root).equals(Buffer.from(await rootAt(db, 11)))).toBe(true);
    expect(await signer.checkpoint(db, 3)).toEqual(first); // nothing new: no new signature
    expect(await latestCheckpoint(db)).toEqual(first);
    expect(await saveCheckpoint(db, { ...first, time: 9 })).toBe(false);

    await expect(db.transaction().execute((tx) => signer.checkpoint(tx, 4))).rejects.toMatchObject({
      code: 'E_LEDGER_TRANSACTION',
    });
    await expect(saveCheckpoint(db, { ...first, size: 12 })).rejects.toMatchObject({
      code: 'E_LEDGER_CHECKPOINT_INVALID',
    });
  });

  it('refuses to sign over a history rewritten in the file', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = new Checkpointer(privateKey, ORIGIN);
    await appendEntries(
      db,
      Array.from({ length: 8 }, (_, i) => draft(i)),
    );
    await signer.checkpoint(db, 1);
    // Someone with the file: drops the triggers, edits entry 3, recomputes every node.
    database.exec(
      ['entries', 'nodes', 'checkpoints']
        .flatMap((t) => [
          `drop trigger ledger_${t}_no_update;`,
          `drop trigger ledger_${t}_no_delete;`,
        ])
        .join('\n'),
    );
    const forged = Array.from({ length: 8 }, (_, i) =>
      draft(i, i === 3 ? { detail: { i, forged: true } } : {}),
    );
    database.exec('delete from ledger_entries; delete from ledger_nodes;');
    await appendEntries(db, forged);
    await appendEntries(db, [draft(8)]);
    await expect(signer.checkpoint(db, 2)).rejects.toMatchObject({ code: 'E_LEDGER_CONSISTENCY' });
    // A fresh process trusts the stored checkpoint, verified with its key: same refusal.
    await expect(new Checkpointer(privateKey, ORIGIN).checkpoint(db, 2)).rejects.toMatchObject({
      code: 'E_LEDGER_CONSISTENCY',
    });
    // And a truncated log, with the checkpoint rows deleted too: this process remembers.
    database.exec('delete from ledger_checkpoints; delete from ledger_entries where seq >= 4;');
    database.exec('delete from ledger_nodes where (idx + 1) * (1 << level) > 4;');
    await expect(signer.checkpoint(db, 3)).rejects.toMatchObject({ code: 'E_LEDGER_CONSISTENCY' });
  });

  it('exports what the offline verifier accepts, and what it catches when the file is edited', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = new Checkpointer(privateKey, ORIGIN);
    await appendEntries(
      db,
      Array.from({ length: 20 }, (_, i) => draft(i)),
    );
    const trusted = (await signer.checkpoint(db, 1)).note;
    await appendEntries(
      db,
      Array.from({ length: 17 }, (_, i) => draft(20 + i)),
    );
    await signer.checkpoint(db, 2);

    const text = formatLedgerExport(await exportLedger(db, { origin: ORIGIN, vkey: signer.vkey }));
    const verdict = verifyLedger(parseLedgerExport(text), { vkey: signer.vkey, trusted });
    expect(verdict).toMatchObject({ ok: true, size: 37, checkpoints: 2, anchored: 37 });

    database.exec('drop trigger ledger_entries_no_update;');
    const body = makeEntry(12, draft(12, { actor: 'someone-else' })).body;
    database.prepare('update ledger_entries set body = ? where seq = 12').run(body);
    const edited = await exportLedger(db, { origin: ORIGIN, vkey: signer.vkey });
    expect(verifyLedger(edited, { vkey: signer.vkey })).toMatchObject({
      ok: false,
      code: 'E_LEDGER_ENTRY',
      seq: 12,
    });
  });

  it('keeps its numbers at scale: 5,000 entries in uneven batches', async () => {
    let n = 0;
    while (n < 5000) {
      const batch = Math.min(5000 - n, 1 + ((n * 7919) % 997));
      await appendEntries(
        db,
        Array.from({ length: batch }, (_, i) => draft(n + i)),
      );
      n += batch;
    }
    const leaves = leavesOf(n);
    expect(Buffer.from(await rootAt(db, n)).equals(Buffer.from(treeHash(leaves)))).toBe(true);
    expect(
      Buffer.from(await rootAt(db, 3333)).equals(Buffer.from(treeHash(leaves.slice(0, 3333)))),
    ).toBe(true);
    const proof = await inclusionProof(db, 4321, n);
    expect(verifyInclusion(leaves[4321]!, 4321, n, proof, await rootAt(db, n))).toBe(true);
  });
});
