import { generateKeyPairSync, webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeVkey,
  inclusionProof,
  leafHash,
  makeEntry,
  noteSigner,
  signCheckpoint,
  signNote,
  treeHash,
} from '../ledger/index.js';
import {
  verifyEntryProof as verifyAsked,
  webCrypto,
  type EntryProof,
  type ProofCrypto,
} from './proof-verify.js';

/** Checked as the proof of the entry it says it is (the page asks by seq: see below). */
const verifyEntryProof = (given: EntryProof, vkey: string, crypto: ProofCrypto) =>
  verifyAsked(given, vkey, crypto, given.seq);

// The page's verifier, with Node's WebCrypto (the same API the browser gives it), checked
// against what the server's own ledger code (src/core/ledger) makes and signs.
const crypto = webCrypto(webcrypto.subtle);
const ORIGIN = 'ingot.test/ledger';
const { privateKey } = generateKeyPairSync('ed25519');
const signer = noteSigner(ORIGIN, privateKey);
const vkey = encodeVkey(ORIGIN, privateKey);
const b64 = (h: Uint8Array) => Buffer.from(h).toString('base64');

/** A log of `size` entries, and entry `seq`'s proof against its signed checkpoint. */
function proven(size: number, seq: number, actor = 'someone'): EntryProof {
  const bodies = Array.from(
    { length: size },
    (_, i) =>
      makeEntry(i, {
        time: 1_700_000_000_000 + i,
        actor: i === seq ? actor : `actor-${i}`,
        kind: 'deploy',
        subjects: [],
        fleet: 'web',
        detail: { n: i },
      }).body,
  );
  const leaves = bodies.map((b) => leafHash(b));
  const hashAt = (level: number, index: number) =>
    treeHash(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));
  return {
    seq,
    body: bodies[seq]!,
    size,
    proof: inclusionProof(seq, size, hashAt).map(b64),
    checkpoint: signCheckpoint({ origin: ORIGIN, size, root: treeHash(leaves) }, signer),
  };
}

/** The root the checkpoint of `p` signs (its third line). */
const rootOf = (p: EntryProof) => Buffer.from(p.checkpoint.split('\n')[2]!, 'base64');

const logAndSeq = fc
  .integer({ min: 1, max: 70 })
  .chain((size) => fc.tuple(fc.constant(size), fc.nat({ max: size - 1 })));

describe('the dashboard verifies a ledger proof as the server makes it', () => {
  it('accepts every entry of every log against its signed checkpoint', async () => {
    await fc.assert(
      fc.asyncProperty(logAndSeq, fc.string({ maxLength: 40 }), async ([size, seq], actor) => {
        const verdict = await verifyEntryProof(proven(size, seq, actor || 'x'), vkey, crypto);
        expect(verdict).toMatchObject({ ok: true, origin: ORIGIN, size });
      }),
      { numRuns: 60 },
    );
  });

  it('reads every verifier key, those whose base64 holds "+" and "/" too', async () => {
    let seen = 0;
    for (let i = 0; i < 200 && seen < 5; i++) {
      const key = generateKeyPairSync('ed25519').privateKey;
      const v = encodeVkey(ORIGIN, key);
      if (!/[+/]/.test(v.split('+').slice(2).join('+'))) continue;
      seen++;
      const size = 3;
      const p = proven(size, 1);
      const resigned = signCheckpoint(
        { origin: ORIGIN, size, root: Buffer.from(rootOf(p)) },
        noteSigner(ORIGIN, key),
      );
      expect(await verifyEntryProof({ ...p, checkpoint: resigned }, v, crypto)).toMatchObject({
        ok: true,
      });
    }
    expect(seen).toBe(5);
  });

  it('fails a proof with any bit of any hash flipped', async () => {
    await fc.assert(
      fc.asyncProperty(
        logAndSeq.filter(([size]) => size > 1),
        fc.nat(),
        fc.nat({ max: 255 }),
        async ([size, seq], which, bit) => {
          const p = proven(size, seq);
          const i = which % p.proof.length;
          const bytes = Buffer.from(p.proof[i]!, 'base64');
          bytes[bit % 32]! ^= 1 << (bit % 8);
          const proof = p.proof.map((h, j) => (j === i ? b64(bytes) : h));
          expect(await verifyEntryProof({ ...p, proof }, vkey, crypto)).toMatchObject({
            ok: false,
            step: 'proof',
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('fails a genuine proof of another entry than the one asked for', async () => {
    await fc.assert(
      fc.asyncProperty(logAndSeq, fc.nat(), async ([size, seq], other) => {
        const asked = seq === other % size ? (seq + 1) % (size + 1) : other % size;
        expect(await verifyAsked(proven(size, seq), vkey, crypto, asked)).toMatchObject({
          ok: false,
          step: 'entry',
        });
      }),
      { numRuns: 30 },
    );
  });

  it('fails an entry whose bytes were changed, one moved, and a proof cut short', async () => {
    const p = proven(13, 6, 'alice');
    const edited = { ...p, body: p.body.replace('"alice"', '"mallory"') };
    expect(await verifyEntryProof(edited, vkey, crypto)).toMatchObject({
      ok: false,
      step: 'proof',
    });
    const moved = { ...p, seq: 7 };
    expect(await verifyEntryProof(moved, vkey, crypto)).toMatchObject({ ok: false, step: 'entry' });
    const short = { ...p, proof: p.proof.slice(1) };
    expect(await verifyEntryProof(short, vkey, crypto)).toMatchObject({ ok: false, step: 'proof' });
    const longer = { ...p, proof: [...p.proof, p.proof[0]!] };
    expect(await verifyEntryProof(longer, vkey, crypto)).toMatchObject({
      ok: false,
      step: 'proof',
    });
    const bigger = { ...p, size: 14 };
    expect(await verifyEntryProof(bigger, vkey, crypto)).toMatchObject({
      ok: false,
      step: 'proof',
    });
  });

  it('fails a checkpoint that was altered, re-signed by another key, or not signed', async () => {
    const p = proven(9, 4);
    const [text, sigs] = p.checkpoint.split('\n\n') as [string, string];
    // Another root in the signed text: the signature no longer covers it.
    const other = Buffer.alloc(32, 7).toString('base64');
    const lines = text.split('\n');
    const altered = `${[lines[0], lines[1], other].join('\n')}\n\n${sigs}`;
    expect(await verifyEntryProof({ ...p, checkpoint: altered }, vkey, crypto)).toMatchObject({
      ok: false,
      step: 'signature',
    });
    // The same text signed by a key that is not the trusted one, under the same name.
    const stranger = noteSigner(ORIGIN, generateKeyPairSync('ed25519').privateKey);
    const forged = signNote(`${text}\n`, [stranger]);
    expect(await verifyEntryProof({ ...p, checkpoint: forged }, vkey, crypto)).toMatchObject({
      ok: false,
      step: 'signature',
    });
    // A signature of the trusted key's ID with its bytes changed.
    const blob = Buffer.from(sigs.trim().split(' ').pop()!, 'base64');
    blob[10]! ^= 0x40;
    const badSig = `${text}\n\n\u2014 ${ORIGIN} ${blob.toString('base64')}\n`;
    expect(await verifyEntryProof({ ...p, checkpoint: badSig }, vkey, crypto)).toMatchObject({
      ok: false,
      step: 'signature',
    });
    expect(await verifyEntryProof({ ...p, checkpoint: `${text}\n` }, vkey, crypto)).toMatchObject({
      ok: false,
      step: 'note',
    });
  });

  it('says a browser without Ed25519 checked nothing, rather than calling the note forged', async () => {
    const subtle = webcrypto.subtle;
    const old = webCrypto({
      digest: (a, d) => subtle.digest(a, d),
      importKey: () =>
        Promise.reject(new DOMException('Algorithm: Unrecognized name', 'NotSupportedError')),
      verify: () => Promise.reject(new Error('unreachable')),
    });
    const verdict = await verifyEntryProof(proven(6, 3), vkey, old);
    expect(verdict).toMatchObject({ ok: false, step: 'browser' });
    expect(verdict.ok === false && verdict.reason).toMatch(/NOT verified/);
  });

  it('fails against another log, and with a verifier key that lies about its ID', async () => {
    const p = proven(5, 2);
    const { privateKey: otherKey } = generateKeyPairSync('ed25519');
    const otherLog = encodeVkey('another/log', otherKey);
    const signedElsewhere = signCheckpoint(
      { origin: 'another/log', size: 5, root: Buffer.alloc(32) },
      noteSigner('another/log', otherKey),
    );
    expect(
      await verifyEntryProof({ ...p, checkpoint: signedElsewhere }, vkey, crypto),
    ).toMatchObject({ ok: false, step: 'signature' });
    expect(await verifyEntryProof(p, otherLog, crypto)).toMatchObject({
      ok: false,
      step: 'signature',
    });
    const [name, , key] = vkey.split('+');
    expect(await verifyEntryProof(p, `${name}+00000000+${key}`, crypto)).toMatchObject({
      ok: false,
      step: 'key',
    });
  });
});
