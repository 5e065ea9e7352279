import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LedgerErrorCode } from './errors.js';
import {
  MAX_NOTE_BYTES,
  encodeVkey,
  noteSigner,
  openNote,
  parseVkey,
  signNote,
  type NoteVerifier,
} from './note.js';

// The vectors of golang.org/x/mod/sumdb/note (note_test.go), the reference implementation
// of C2SP signed-note. Ed25519 is deterministic, so signing must reproduce them exactly.
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT =
  'If you think cryptography is the answer to your problem,\n' +
  "then you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const PETER_B64 = PETER_SIG.slice('— PeterNeumann '.length, -1);
const ENOCH_B64 = ENOCH_SIG.slice('— EnochRoot '.length, -1);

/** An Ed25519 private key from its 32-byte seed (PKCS #8 DER: fixed prefix, then the seed). */
function ed25519FromSeed(seed: Uint8Array): KeyObject {
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' });
}
const peterPrivate = ed25519FromSeed(
  Buffer.from(PETER_SKEY.split('+').slice(4).join('+'), 'base64').subarray(1),
);

const peter = parseVkey(PETER_VKEY);
const enoch = parseVkey(ENOCH_VKEY);

function codeOf(fn: () => unknown): LedgerErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: LedgerErrorCode }).code;
  }
  return undefined;
}

describe('verifier keys', () => {
  it('reads the reference vkey and computes its key ID', () => {
    expect(peter.name).toBe('PeterNeumann');
    expect(peter.keyId).toBe(0xc74f20a3);
    expect(enoch.keyId).toBe(0xaf0cfe78);
  });

  it('encodes the reference vkey from the reference private key', () => {
    expect(encodeVkey('PeterNeumann', peterPrivate)).toBe(PETER_VKEY);
  });

  it('refuses every substring and every one-character change of a vkey', () => {
    const b = [...PETER_VKEY];
    for (let i = 0; i <= b.length; i++)
      for (let j = i + 1; j <= b.length; j++)
        if (i !== 0 || j !== b.length)
          expect(codeOf(() => parseVkey(b.slice(i, j).join('')))).toBe('E_LEDGER_VKEY');
    for (let i = 0; i < b.length; i++) {
      const mangled = [...b];
      mangled[i] = String.fromCharCode(mangled[i]!.charCodeAt(0) + 1);
      expect(codeOf(() => parseVkey(mangled.join('')))).toBe('E_LEDGER_VKEY');
    }
    // A key of the wrong length and an unknown algorithm, each with its key ID adjusted.
    expect(
      codeOf(() =>
        parseVkey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='),
      ),
    ).toBe('E_LEDGER_VKEY');
    expect(
      codeOf(() => parseVkey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')),
    ).toBe('E_LEDGER_VKEY');
  });

  it('refuses keys that are not Ed25519', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(codeOf(() => encodeVkey('x', privateKey))).toBe('E_LEDGER_VKEY');
    expect(codeOf(() => noteSigner('x', privateKey))).toBe('E_LEDGER_VKEY');
    expect(codeOf(() => noteSigner('a b', peterPrivate))).toBe('E_LEDGER_VKEY');
  });
});

describe('signing', () => {
  it('reproduces the reference signed note byte for byte', () => {
    const signed = signNote(TEXT, [noteSigner('PeterNeumann', peterPrivate)]);
    expect(signed).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('refuses text that is not a note text', () => {
    const s = noteSigner('PeterNeumann', peterPrivate);
    expect(codeOf(() => signNote('abc', [s]))).toBe('E_LEDGER_NOTE_INVALID');
    expect(codeOf(() => signNote('a\tb\n', [s]))).toBe('E_LEDGER_NOTE_INVALID');
  });
});

describe('opening', () => {
  it('verifies the reference signed note', () => {
    const note = openNote(`${TEXT}\n${PETER_SIG}`, [peter]);
    expect(note.text).toBe(TEXT);
    expect(note.verified).toEqual([{ name: 'PeterNeumann', keyId: 0xc74f20a3, base64: PETER_B64 }]);
    expect(openNote(Buffer.from(`${TEXT}\n${PETER_SIG}`), [peter]).text).toBe(TEXT);
  });

  it('sets aside signatures by unknown keys, and checks every known one', () => {
    const one = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter]);
    expect(one.verified.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(one.unverified).toEqual([{ name: 'EnochRoot', keyId: 0xaf0cfe78, base64: ENOCH_B64 }]);
    const both = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter, enoch]);
    expect(both.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(both.unverified).toEqual([]);
  });

  it('refuses a note no known key signed', () => {
    expect(codeOf(() => openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, []))).toBe(
      'E_LEDGER_NOTE_UNKNOWN_KEY',
    );
    expect(codeOf(() => openNote(`${TEXT}\n${ENOCH_SIG}`, [peter]))).toBe(
      'E_LEDGER_NOTE_UNKNOWN_KEY',
    );
    // Same key ID under another name, same name with another key ID: both unknown.
    const misnamed = PETER_SIG.replace('PeterNeumann', 'CarmenSandiego');
    expect(codeOf(() => openNote(`${TEXT}\n${misnamed}`, [peter]))).toBe(
      'E_LEDGER_NOTE_UNKNOWN_KEY',
    );
    const otherId = PETER_SIG.replace('x08g', 'xxxx');
    expect(codeOf(() => openNote(`${TEXT}\n${otherId}`, [peter]))).toBe(
      'E_LEDGER_NOTE_UNKNOWN_KEY',
    );
  });

  it('refuses a bad signature by a known key, and an altered text', () => {
    const bad = `${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    expect(codeOf(() => openNote(`${TEXT}\n${bad}`, [peter]))).toBe('E_LEDGER_NOTE_SIGNATURE');
    const altered = `${TEXT.replace('cryptography', 'cryptographY')}\n${PETER_SIG}`;
    expect(codeOf(() => openNote(altered, [peter]))).toBe('E_LEDGER_NOTE_SIGNATURE');
    const longer = `${TEXT}\n— PeterNeumann ${PETER_B64.replace('=', 'A')}\n`; // 65 bytes
    expect(codeOf(() => openNote(longer, [peter]))).toBe('E_LEDGER_NOTE_SIGNATURE');
    // Peter's signature put on Enoch's line names no key anyone trusts: not a signature by Enoch.
    const swapped = `${TEXT}\n— EnochRoot ${PETER_B64}\n`;
    expect(codeOf(() => openNote(swapped, [enoch, peter]))).toBe('E_LEDGER_NOTE_UNKNOWN_KEY');
  });

  it('counts a repeated signature once and keeps distinct unknown ones', () => {
    const enochABCD = `${ENOCH_SIG.slice(0, 60)}ABCD${ENOCH_SIG.slice(60)}`;
    const note = openNote(`${TEXT}\n${PETER_SIG}${PETER_SIG}${ENOCH_SIG}${ENOCH_SIG}${enochABCD}`, [
      peter,
    ]);
    expect(note.verified).toHaveLength(1);
    expect(note.unverified.map((s) => s.base64)).toEqual([
      ENOCH_B64,
      enochABCD.slice('— EnochRoot '.length, -1),
    ]);
  });

  it('refuses an ambiguous trust list when it matters', () => {
    const twice: NoteVerifier[] = [enoch, peter, enoch];
    expect(codeOf(() => openNote(`${TEXT}\n${ENOCH_SIG}`, twice))).toBe('E_LEDGER_VKEY');
    expect(openNote(`${TEXT}\n${PETER_SIG}`, twice).verified).toHaveLength(1);
  });

  it('refuses malformed notes (the reference list, and more)', () => {
    const bad = [
      TEXT,
      `${TEXT}\n`,
      `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\x01${TEXT}\n${PETER_SIG}`,
      `${TEXT}\n— Bad Name ${PETER_B64}\n`,
      `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
      `${TEXT}\n${PETER_SIG.repeat(101)}`,
      `${TEXT}\n— PeterNeumann ${PETER_B64.slice(0, -1)}\n`, // not canonical base64
      `${TEXT}\n— PeterNeumann AAAA\n`, // shorter than a key ID and one byte
      `${TEXT}\n- PeterNeumann ${PETER_B64}\n`, // a hyphen, not an em dash
      `${TEXT}\r\n${PETER_SIG}`,
      `${TEXT}\n${PETER_SIG}`.replace('problem,', 'problem\uD800,'),
      `${'x'.repeat(MAX_NOTE_BYTES)}\n\n${PETER_SIG}`,
    ];
    for (const [i, note] of bad.entries())
      expect(
        codeOf(() => openNote(note, [peter])),
        `note ${i}`,
      ).toBe('E_LEDGER_NOTE_INVALID');
    expect(codeOf(() => openNote(Buffer.from([0xff, 0x0a, 0x0a]), [peter]))).toBe(
      'E_LEDGER_NOTE_INVALID',
    );
  });

  it('round-trips a fresh key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = noteSigner('ingot.example/ledger', privateKey);
    const verifier = parseVkey(encodeVkey('ingot.example/ledger', publicKey));
    expect(verifier.keyId).toBe(signer.keyId);
    const note = signNote('a\n\nb\n', [signer, noteSigner('PeterNeumann', peterPrivate)]);
    expect(openNote(note, [verifier]).text).toBe('a\n\nb\n');
    expect(openNote(note, [verifier, peter]).verified).toHaveLength(2);
  });
});
