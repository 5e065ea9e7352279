import { generateKeyPairSync } from 'node:crypto';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerKey } from './ledger-key.js';

const dirs: string[] = [];
const home = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-ledger-key-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every file under keys/ with its bytes: "nothing was written" is checked against this. */
const snapshot = (h: string): Record<string, string> =>
  Object.fromEntries(
    readdirSync(join(h, 'keys')).map((f) => [f, readFileSync(join(h, 'keys', f), 'base64')]),
  );

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('the ledger key', () => {
  it('is made once, with its verifier key and origin, all 0600', () => {
    const h = home();
    const first = ledgerKey(h);
    expect(first.created).toBe(true);
    expect(readFileSync(join(h, 'keys', 'ledger.vkey'), 'utf8')).toBe(`${first.vkey}\n`);
    for (const f of ['ledger.key', 'ledger.vkey', 'ledger.origin'])
      expect(statSync(join(h, 'keys', f)).mode & 0o777).toBe(0o600);
    expect(statSync(join(h, 'keys')).mode & 0o777).toBe(0o700);
    const again = ledgerKey(h);
    expect(again.created).toBe(false);
    expect(again.vkey).toBe(first.vkey);
  });

  it('a deleted key is refused without writing anything: the verifier key survives', () => {
    const h = home();
    ledgerKey(h);
    writeFileSync(join(h, 'keys', 'ledger.last'), 'a checkpoint\n', { mode: 0o600 });
    rmSync(join(h, 'keys', 'ledger.key'));
    const before = snapshot(h);
    expect(codeOf(() => ledgerKey(h))).toBe('E_LEDGER_KEY_LOST');
    expect(snapshot(h)).toEqual(before);
  });

  it('any one file of a signed log is enough to refuse a new key', () => {
    for (const kept of ['ledger.vkey', 'ledger.last', 'ledger.origin']) {
      const h = home();
      ledgerKey(h);
      writeFileSync(join(h, 'keys', 'ledger.last'), 'a checkpoint\n', { mode: 0o600 });
      for (const f of ['ledger.key', 'ledger.vkey', 'ledger.last', 'ledger.origin'])
        if (f !== kept) rmSync(join(h, 'keys', f));
      expect(
        codeOf(() => ledgerKey(h)),
        kept,
      ).toBe('E_LEDGER_KEY_LOST');
      expect(readdirSync(join(h, 'keys'))).toEqual([kept]);
    }
  });

  it('with every key file gone, checkpoints in the database still refuse a new key', () => {
    const h = home();
    expect(codeOf(() => ledgerKey(h, { signedBefore: true }))).toBe('E_LEDGER_KEY_LOST');
    expect(readdirSync(h)).toEqual([]);
  });

  it('a replaced key is refused, and the verifier key is left as it was', () => {
    const h = home();
    ledgerKey(h);
    const other = generateKeyPairSync('ed25519').privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    writeFileSync(join(h, 'keys', 'ledger.key'), other, { mode: 0o600 });
    const before = snapshot(h);
    expect(codeOf(() => ledgerKey(h))).toBe('E_LEDGER_KEY_MISMATCH');
    expect(snapshot(h)).toEqual(before);
  });

  it('a lost verifier key or origin is derived again from the key, the same as before', () => {
    const h = home();
    const first = ledgerKey(h);
    renameSync(join(h, 'keys', 'ledger.origin'), join(h, 'origin.old'));
    rmSync(join(h, 'keys', 'ledger.vkey'));
    // Without its origin file the name comes from the kept vkey, or here the home.
    const again = ledgerKey(h);
    expect(again.created).toBe(false);
    expect(again.vkey).toBe(first.vkey);
    expect(readFileSync(join(h, 'keys', 'ledger.vkey'), 'utf8')).toBe(`${first.vkey}\n`);
    expect(readFileSync(join(h, 'keys', 'ledger.origin'), 'utf8')).toBe(
      readFileSync(join(h, 'origin.old'), 'utf8'),
    );
  });
});
