import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isIngotError } from '../../domain/errors.js';
import { loadPublicKey } from './key-files.js';

const dir = mkdtempSync(join(tmpdir(), 'ingot-key-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'loaded';
  } catch (err) {
    return isIngotError(err) ? err.code : String(err);
  }
}

describe('a trusted key file', () => {
  it('is loaded when only its owner (this user or root) can write it', () => {
    const path = join(dir, 'ok.pub');
    writeFileSync(path, pem, { mode: 0o644 });
    expect(codeOf(() => loadPublicKey(path))).toBe('loaded');
  });

  it('is refused when group or others can write it: they would decide what runs', () => {
    const path = join(dir, 'open.pub');
    writeFileSync(path, pem);
    chmodSync(path, 0o664);
    expect(codeOf(() => loadPublicKey(path))).toBe('E_KEY_PERMISSIONS');
  });

  it('is refused when another user owns it (a root server under an inherited HOME)', () => {
    const self = process.getuid?.();
    if (self !== 0) throw new Error('this test needs root to give the file to another user');
    const path = join(dir, 'theirs.pub');
    writeFileSync(path, pem, { mode: 0o644 });
    chownSync(path, 65534, 65534);
    expect(codeOf(() => loadPublicKey(path))).toBe('E_KEY_PERMISSIONS');
  });
});
