import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyFiles } from './key-files.js';
import { localKeys, localSigningKey } from './local-keys.js';

const dirs: string[] = [];
const home = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-local-keys-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe("this machine's signing pair", () => {
  it('is made once, where neither half exists', () => {
    const h = home();
    expect(localSigningKey(h)).toBeNull();
    expect(localKeys(h).created).not.toBeNull();
    expect(localKeys(h).created).toBeNull();
    expect(localSigningKey(h)).toBe(join(h, 'keys', 'local.key'));
  });

  it('a deleted private key is refused by up and by build, and no new pair is made', () => {
    const h = home();
    localKeys(h);
    const pub = readFileSync(join(h, 'keys', 'local.pub'), 'utf8');
    rmSync(join(h, 'keys', 'local.key'));
    expect(codeOf(() => localKeys(h))).toBe('E_KEY_LOST');
    expect(codeOf(() => localSigningKey(h))).toBe('E_KEY_LOST');
    expect(readdirSync(join(h, 'keys'))).toEqual(['local.pub']);
    expect(readFileSync(join(h, 'keys', 'local.pub'), 'utf8')).toBe(pub);
  });

  it('a deleted public key is derived again from the private key', () => {
    const h = home();
    localKeys(h);
    const pub = readFileSync(join(h, 'keys', 'local.pub'), 'utf8');
    rmSync(join(h, 'keys', 'local.pub'));
    expect(localKeys(h).created).toBeNull();
    expect(readFileSync(join(h, 'keys', 'local.pub'), 'utf8')).toBe(pub);
  });

  it('halves of two pairs are refused, and neither is replaced', () => {
    const h = home();
    localKeys(h);
    const other = join(h, 'other');
    generateKeyFiles(other, 'local');
    copyFileSync(join(other, 'local.key'), join(h, 'keys', 'local.key'));
    const before = ['local.key', 'local.pub'].map((f) => readFileSync(join(h, 'keys', f), 'utf8'));
    expect(codeOf(() => localKeys(h))).toBe('E_KEY_MISMATCH');
    expect(codeOf(() => localSigningKey(h))).toBe('E_KEY_MISMATCH');
    expect(['local.key', 'local.pub'].map((f) => readFileSync(join(h, 'keys', f), 'utf8'))).toEqual(
      before,
    );
  });
});
