import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_CHECKPOINT_EXTENSIONS,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from './checkpoint.js';
import type { LedgerErrorCode } from './errors.js';
import { encodeVkey, noteSigner, parseVkey } from './note.js';

function codeOf(fn: () => unknown): LedgerErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: LedgerErrorCode }).code;
  }
  return undefined;
}

const ROOT = Buffer.from('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'base64');

describe('checkpoints', () => {
  it('read the example of c2sp.org/tlog-checkpoint', () => {
    const text =
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    const c = parseCheckpoint(text);
    expect(c).toEqual({ origin: 'example.com/behind-the-sofa', size: 20852163, root: ROOT });
    expect(formatCheckpoint(c)).toBe(text);
  });

  it('keep extension lines, and the empty tree', () => {
    const c = { origin: 'o', size: 0, root: ROOT, extensions: ['a b', 'c'] };
    expect(parseCheckpoint(formatCheckpoint(c))).toEqual(c);
  });

  it('have one spelling: anything else is refused', () => {
    const r = ROOT.toString('base64');
    const bad = [
      `o\n1\n${r}`,
      `o\n1\n`,
      `\n1\n${r}\n`,
      `o\n01\n${r}\n`,
      `o\n+1\n${r}\n`,
      `o\n-1\n${r}\n`,
      `o\n1e3\n${r}\n`,
      `o\n 1\n${r}\n`,
      `o\n9007199254740992\n${r}\n`,
      `o\n1\n${r.slice(0, -1)}\n`,
      `o\n1\n${Buffer.alloc(31).toString('base64')}\n`,
      `o\n1\n${r.replace('=', 'A')}\n`,
      `o\n1\n${r}\n\n`,
      `o\n1\n${r}\n${'e\n'.repeat(MAX_CHECKPOINT_EXTENSIONS + 1)}`,
      `${'o'.repeat(300)}\n1\n${r}\n`,
      `o\n1\n${r}\n${'e'.repeat(5000)}\n`,
    ];
    for (const [i, text] of bad.entries())
      expect(
        codeOf(() => parseCheckpoint(text)),
        `text ${i}`,
      ).toBe('E_LEDGER_CHECKPOINT_INVALID');
    expect(codeOf(() => formatCheckpoint({ origin: '', size: 1, root: ROOT }))).toBe(
      'E_LEDGER_CHECKPOINT_INVALID',
    );
  });

  it('are signed as notes and opened only with the log’s key and for the log’s origin', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const origin = 'ingot.example/ledger';
    const note = signCheckpoint({ origin, size: 42, root: ROOT }, noteSigner(origin, privateKey));
    const verifier = parseVkey(encodeVkey(origin, publicKey));
    expect(openCheckpoint(note, verifier)).toEqual({ origin, size: 42, root: ROOT });
    expect(codeOf(() => openCheckpoint(note, verifier, 'another.example/log'))).toBe(
      'E_LEDGER_CHECKPOINT_ORIGIN',
    );
    const stranger = parseVkey(encodeVkey(origin, other.publicKey));
    expect(codeOf(() => openCheckpoint(note, stranger))).toBe('E_LEDGER_NOTE_UNKNOWN_KEY');
    const edited = note.replace('\n42\n', '\n43\n');
    expect(codeOf(() => openCheckpoint(edited, verifier))).toBe('E_LEDGER_NOTE_SIGNATURE');
  });
});
