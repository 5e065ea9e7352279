import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blockingAncestor } from './id-gate.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('a home that can serve user namespaces', () => {
  it('names the first folder above the home that others cannot pass, or none', () => {
    const root = mkdtempSync(join(tmpdir(), 'ingot-gate-'));
    dirs.push(root);
    mkdirSync(join(root, 'a', 'home'), { recursive: true });
    chmodSync(root, 0o700);
    chmodSync(join(root, 'a'), 0o755);
    expect(blockingAncestor(join(root, 'a', 'home'))).toBe(root);
    chmodSync(root, 0o711);
    expect(blockingAncestor(join(root, 'a', 'home'))).toBeNull();
    chmodSync(join(root, 'a'), 0o750);
    expect(blockingAncestor(join(root, 'a', 'home'))).toBe(join(root, 'a'));
  });
});
