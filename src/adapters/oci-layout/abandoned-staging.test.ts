import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OciLayoutStore } from './store.js';

const roots: string[] = [];
afterEach(() => roots.splice(0).forEach((r) => rmSync(r, { recursive: true, force: true })));

/** A pid that was a process a moment ago and is no more. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

describe('staging left by killed processes', () => {
  it('is removed when the store is next opened; a live process’s staging is kept', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ingot-sweep-'));
    roots.push(root);
    await OciLayoutStore.open(root);
    const staging = join(root, '.ingot', 'staging');
    const dead = deadPid();
    for (const name of [`${dead}-a1b2c3`, `${dead}-pull-xyz`, `${process.pid}-live`, 'odd']) {
      mkdirSync(join(staging, name));
      writeFileSync(join(staging, name, 'half-a-layer'), 'x');
    }
    const tx = await (await OciLayoutStore.open(root)).begin();
    expect(readdirSync(staging).sort()).toEqual(
      [`${process.pid}-live`, 'odd', tx.stagingDir.split('/').pop()!].sort(),
    );
    await tx.abort();
  });
});
