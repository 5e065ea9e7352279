import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../domain/digest.js';
import { FileBlobLocations } from './blob-locations.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function file(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-locations-'));
  dirs.push(dir);
  return join(dir, 'registry-blobs.json');
}

describe('blob locations', () => {
  it('remember the most recent repositories of a blob per registry, across instances, privately', () => {
    const path = file();
    const d = digestOf('layer');
    const a = new FileBlobLocations(path);
    for (const repo of ['r1', 'r2', 'r3', 'r4', 'r5']) a.record('reg:5000', repo, [d]);
    a.record('other:5000', 'x', [d]);
    const b = new FileBlobLocations(path);
    expect(b.repositories('reg:5000', d)).toEqual(['r5', 'r4', 'r3', 'r2']);
    expect(b.repositories('other:5000', d)).toEqual(['x']);
    expect(b.repositories('reg:5000', digestOf('unknown'))).toEqual([]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('treat a damaged file as empty: it is only a hint', () => {
    const path = file();
    writeFileSync(
      path,
      '{"reg:5000": {"not a digest": ["r"], "' + digestOf('x') + '": [1, "ok"]}}',
    );
    const l = new FileBlobLocations(path);
    expect(l.repositories('reg:5000', digestOf('x'))).toEqual(['ok']);
    writeFileSync(path, 'garbage');
    expect(new FileBlobLocations(path).repositories('reg:5000', digestOf('x'))).toEqual([]);
  });
});
