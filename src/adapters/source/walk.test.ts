import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LayerSpec } from '../../domain/baseline.js';
import { walkSource } from './walk.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const spec = (exclude: string[]): LayerSpec => ({
  source: 'src',
  destination: '/x',
  intoDirectory: false,
  uid: 0,
  gid: 0,
  exclude,
  followSymlinks: false,
  setuid: false,
});

describe('walkSource', () => {
  it('skips excluded files and whole excluded folders', () => {
    const ctx = mkdtempSync(join(tmpdir(), 'ingot-walk-'));
    dirs.push(ctx);
    for (const f of [
      'src/a.txt',
      'src/README.md',
      'src/docs/x.md',
      'src/node_modules/m/index.js',
      'src/.git/HEAD',
      'src/keep/b.txt',
    ]) {
      mkdirSync(join(ctx, f, '..'), { recursive: true });
      writeFileSync(join(ctx, f), f);
    }
    const listing = walkSource(ctx, spec(['**/*.md', 'node_modules', '.git']));
    expect(listing.items.map((i) => i.rel).sort()).toEqual([
      '',
      'a.txt',
      'docs',
      'keep',
      'keep/b.txt',
    ]);
  });
});
