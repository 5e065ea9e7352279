import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from './checkpoint.js';
import { makeEntry, type LedgerEntryDraft } from './entry.js';
import type { LedgerExport, StoredNode } from './export-format.js';
import { leafHash } from './merkle.js';
import { encodeVkey, noteSigner } from './note.js';
import { TreeBuilder } from './tree-builder.js';
import { verifyLedger } from './verify.js';

const ORIGIN = 'ingot.test/ledger';
const real = generateKeyPairSync('ed25519');
const VKEY = encodeVkey(ORIGIN, real.publicKey);

const draft = (i: number, tag = 'a'): LedgerEntryDraft => ({
  time: 1_764_000_000_000 + i,
  actor: 'controller',
  kind: i % 3 === 0 ? 'deploy' : 'instance-started',
  subjects: [`sha256:${(i % 16).toString(16).repeat(64)}`],
  fleet: 'web',
  instance: `web-${i}`,
  detail: { i, tag },
});

/**
 * What a store would export for these entries, built the way any writer must: canonical
 * bodies, every completed subtree, checkpoints signed at the given sizes. An attacker with
 * write access to the database can do exactly this too, with whatever key they hold.
 */
function build(
  bodies: readonly string[],
  checkpointAt: readonly number[],
  key: KeyObject = real.privateKey,
  origin = ORIGIN,
): LedgerExport {
  const tree = new TreeBuilder();
  const nodes: StoredNode[] = [];
  const checkpoints = [];
  const signer = noteSigner(ORIGIN, key); // the log's key name, whatever the body says
  for (const body of bodies) {
    tree.push(leafHash(Buffer.from(body)), (level, index, hash) =>
      nodes.push({ level, index, hash }),
    );
    if (checkpointAt.includes(tree.size))
      checkpoints.push({
        size: tree.size,
        time: tree.size,
        note: signCheckpoint({ origin, size: tree.size, root: tree.root() }, signer),
      });
  }
  return { origin, vkey: VKEY, size: bodies.length, entries: bodies, nodes, checkpoints };
}

const bodiesOf = (drafts: readonly LedgerEntryDraft[], from = 0) =>
  drafts.map((d, i) => makeEntry(from + i, d).body);

const N = 40;
const BODIES = bodiesOf(Array.from({ length: N }, (_, i) => draft(i)));
const CHECKPOINTS = [10, 25, 40];
const honest = build(BODIES, CHECKPOINTS);
const trustedAt = (size: number) => honest.checkpoints.find((c) => c.size === size)!.note;

const edit = (body: string) => body.replace('"tag":"a"', '"tag":"b"');

describe('verifyLedger', () => {
  it('accepts an honest log', () => {
    const verdict = verifyLedger(honest, { vkey: VKEY, trusted: trustedAt(10) });
    expect(verdict).toMatchObject({ ok: true, size: N, checkpoints: 3, anchored: 40 });
    expect(verifyLedger(build([], []), { vkey: VKEY })).toMatchObject({ ok: true, size: 0 });
  });

  it('an entry edited in place: the entry', () => {
    const entries = BODIES.map((b, i) => (i === 17 ? edit(b) : b));
    expect(verifyLedger({ ...honest, entries }, { vkey: VKEY })).toMatchObject({
      ok: false,
      code: 'E_LEDGER_ENTRY',
      seq: 17,
    });
  });

  it('an entry edited and every node recomputed: the first checkpoint over it', () => {
    const forged = build(
      BODIES.map((b, i) => (i === 17 ? edit(b) : b)),
      [],
    );
    const tampered = { ...forged, checkpoints: honest.checkpoints };
    expect(verifyLedger(tampered, { vkey: VKEY })).toMatchObject({
      ok: false,
      code: 'E_LEDGER_CHECKPOINT_ROOT',
      checkpoint: 25,
    });
  });

  it('an entry deleted, reordered or inserted: the sequence', () => {
    const deleted = BODIES.filter((_, i) => i !== 12);
    expect(verifyLedger({ ...honest, entries: deleted }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_SEQ',
      seq: 12,
    });
    const reordered = [...BODIES];
    [reordered[5], reordered[6]] = [reordered[6]!, reordered[5]!];
    expect(verifyLedger({ ...honest, entries: reordered }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_SEQ',
      seq: 5,
    });
    const inserted = [...BODIES.slice(0, 8), makeEntry(8, draft(99)).body, ...BODIES.slice(8)];
    expect(verifyLedger({ ...honest, entries: inserted }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_ENTRY', // not the entry 8 the tree committed to
      seq: 8,
    });
    const repeated = [...BODIES.slice(0, 9), BODIES[8]!, ...BODIES.slice(9)];
    expect(verifyLedger({ ...honest, entries: repeated }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_SEQ',
      seq: 9,
    });
  });

  it('an entry deleted, the rest renumbered and rehashed, old checkpoints kept: their roots', () => {
    const drafts = Array.from({ length: N }, (_, i) => draft(i)).filter((_, i) => i !== 30);
    const forged = build(bodiesOf(drafts), []);
    expect(
      verifyLedger({ ...forged, checkpoints: honest.checkpoints }, { vkey: VKEY }),
    ).toMatchObject({
      code: 'E_LEDGER_SEQ', // checkpoint 40 covers an entry that is gone
      checkpoint: 40,
    });
    const kept = { ...forged, checkpoints: honest.checkpoints.filter((c) => c.size < 40) };
    expect(verifyLedger(kept, { vkey: VKEY })).toMatchObject({ ok: true }); // 30..38 unanchored
    expect(verifyLedger(kept, { vkey: VKEY, trusted: trustedAt(40) })).toMatchObject({
      code: 'E_LEDGER_CONSISTENCY',
    });
  });

  it('the tail cut off: the header, the nodes, the checkpoints, or a checkpoint kept outside', () => {
    const entries = BODIES.slice(0, 30);
    expect(verifyLedger({ ...honest, entries }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_SEQ',
      seq: 30,
    });
    expect(verifyLedger({ ...honest, size: 30, entries }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_NODE',
      seq: 30,
    });
    const cut = build(entries, [10, 25]);
    expect(verifyLedger({ ...cut, checkpoints: honest.checkpoints }, { vkey: VKEY })).toMatchObject(
      {
        code: 'E_LEDGER_SEQ',
        checkpoint: 40,
      },
    );
    expect(verifyLedger(cut, { vkey: VKEY })).toMatchObject({ ok: true, anchored: 25 });
    expect(verifyLedger(cut, { vkey: VKEY, trusted: trustedAt(40) })).toMatchObject({
      code: 'E_LEDGER_CONSISTENCY',
      checkpoint: 40,
      seq: 30,
    });
  });

  describe('truncated and re-appended with a different history, every hash recomputed', () => {
    const rewritten = [
      ...BODIES.slice(0, 20),
      ...bodiesOf(
        Array.from({ length: 25 }, (_, i) => draft(20 + i, 'evil')),
        20,
      ),
    ];

    it('re-signed with another key: the checkpoint signatures', () => {
      const mallory = generateKeyPairSync('ed25519');
      const forged = build(rewritten, CHECKPOINTS, mallory.privateKey);
      expect(verifyLedger(forged, { vkey: VKEY })).toMatchObject({
        code: 'E_LEDGER_CHECKPOINT_SIG',
        checkpoint: 10,
      });
    });

    it('re-signed with the stolen real key: only consistency with a checkpoint kept earlier', () => {
      const forged = build(rewritten, CHECKPOINTS);
      expect(verifyLedger(forged, { vkey: VKEY })).toMatchObject({ ok: true });
      // Checkpoint 10 predates the fork: still consistent. 25 and 40 do not.
      expect(verifyLedger(forged, { vkey: VKEY, trusted: trustedAt(10) })).toMatchObject({
        ok: true,
      });
      expect(verifyLedger(forged, { vkey: VKEY, trusted: trustedAt(25) })).toMatchObject({
        ok: false,
        code: 'E_LEDGER_CONSISTENCY',
        checkpoint: 25,
      });
    });
  });

  it('a signature moved to another checkpoint: the signature', () => {
    const [a, b] = honest.checkpoints;
    const sigOf = (note: string) => note.slice(note.lastIndexOf('\n\n') + 2);
    const bodyOf = (note: string) => note.slice(0, note.lastIndexOf('\n\n') + 2);
    const swapped = [{ ...a!, note: bodyOf(a!.note) + sigOf(b!.note) }, b!, honest.checkpoints[2]!];
    expect(verifyLedger({ ...honest, checkpoints: swapped }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_CHECKPOINT_SIG',
      checkpoint: 10,
    });
  });

  it('a checkpoint filed under another size, or for another log', () => {
    const misfiled = honest.checkpoints.map((c) => (c.size === 25 ? { ...c, size: 26 } : c));
    expect(verifyLedger({ ...honest, checkpoints: misfiled }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_CHECKPOINT_INVALID',
      checkpoint: 26,
    });
    const elsewhere = build(BODIES, [25], real.privateKey, 'other.test/log').checkpoints;
    expect(verifyLedger({ ...honest, checkpoints: elsewhere }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_CHECKPOINT_ORIGIN',
    });
  });

  it('stored subtrees: wrong, missing, repeated, or for leaves that do not exist', () => {
    const at = (level: number, index: number) =>
      honest.nodes.findIndex((n) => n.level === level && n.index === index);
    const flipped = honest.nodes.map((n, i) =>
      i === at(2, 3) ? { ...n, hash: Buffer.from(n.hash).fill(7, 0, 1) } : n,
    );
    expect(verifyLedger({ ...honest, nodes: flipped }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_NODE',
      node: { level: 2, index: 3 },
      seq: 12,
    });
    const missing = honest.nodes.filter((_, i) => i !== at(0, 33));
    expect(verifyLedger({ ...honest, nodes: missing }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_NODE',
      seq: 33,
    });
    const repeated = [...honest.nodes, honest.nodes[at(1, 4)]!];
    expect(verifyLedger({ ...honest, nodes: repeated }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_NODE',
      node: { level: 1, index: 4 },
    });
    const extra = [...honest.nodes, { level: 3, index: 5, hash: Buffer.alloc(32) }];
    expect(verifyLedger({ ...honest, nodes: extra }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_NODE',
      node: { level: 3, index: 5 },
    });
    const leafEdited = honest.nodes.map((n, i) =>
      i === at(0, 21) ? { ...n, hash: Buffer.alloc(32) } : n,
    );
    expect(verifyLedger({ ...honest, nodes: leafEdited }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_ENTRY',
      seq: 21,
    });
  });

  it('reports the first problem in log order', () => {
    const entries = BODIES.map((b, i) => (i === 31 ? edit(b) : b)).filter((_, i) => i !== 35);
    const nodes = honest.nodes.map((n) =>
      n.level === 3 && n.index === 4 ? { ...n, hash: Buffer.alloc(32) } : n,
    );
    expect(verifyLedger({ ...honest, entries, nodes }, { vkey: VKEY })).toMatchObject({
      code: 'E_LEDGER_ENTRY',
      seq: 31,
    });
  });

  it('refuses the auditor’s own bad inputs loudly', () => {
    expect(() => verifyLedger(honest, { vkey: 'nonsense' })).toThrow(/verifier key/);
    const mallory = generateKeyPairSync('ed25519');
    const foreign = build(BODIES, [10], mallory.privateKey).checkpoints[0]!.note;
    expect(() => verifyLedger(honest, { vkey: VKEY, trusted: foreign })).toThrow(/not trusted/);
  });
});
