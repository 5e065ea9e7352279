import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlannedEntry } from '../../core/layer-plan.js';
import { isIngotError } from '../../domain/errors.js';
import type { LayerCompression } from '../../domain/media-types.js';
import { sourceFile } from '../source/walk.js';
import { ParallelLayerEncoder } from './encoder.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fixture(files: number, size: number): { entries: PlannedEntry[]; staging: () => string } {
  const root = mkdtempSync(join(tmpdir(), 'ingot-enc-'));
  dirs.push(root);
  const entries: PlannedEntry[] = [];
  for (let i = 0; i < files; i++) {
    const abs = join(root, `f${i}`);
    const bytes = Buffer.alloc(size);
    for (let k = 0; k < size; k += 4)
      bytes.writeUInt32LE((Math.imul(i + 1, k + 7) * 2654435761) >>> 0, k);
    writeFileSync(abs, i % 2 ? bytes : Buffer.from('text '.repeat(size / 5)));
    const st = statSync(abs);
    entries.push({
      header: { name: `f${i}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: st.size, mtime: 0 },
      file: sourceFile(abs, st),
    });
  }
  return {
    entries,
    staging: () => {
      const d = join(root, `staging-${Math.random()}`);
      mkdirSync(d);
      return d;
    },
  };
}

const encoder = (workers: number) =>
  new ParallelLayerEncoder({
    workers,
    cacheFile: null,
    blobPath: () => '/nonexistent',
    blobExists: () => false,
  });

describe('ParallelLayerEncoder', () => {
  it('writes the same bytes on one thread as on several, for every codec', async () => {
    const { entries, staging } = fixture(24, 400 * 1024);
    for (const compression of ['gzip', 'zstd', 'none'] as LayerCompression[]) {
      const one = encoder(1);
      const two = encoder(2);
      try {
        const a = await one.encode({ entries, compression, stagingDir: staging() });
        const b = await two.encode({ entries, compression, stagingDir: staging() });
        await Promise.all([a.flushed, b.flushed]);
        expect(b.descriptor.digest, compression).toBe(a.descriptor.digest);
        expect(b.diffId).toBe(a.diffId);
        expect(b.files).toEqual(a.files);
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    }
  });

  it('refuses a source that changed after the walk (E_SOURCE_CHANGED)', async () => {
    const { entries, staging } = fixture(12, 300 * 1024);
    utimesSync(entries[5]!.file!.abs, 1000, 1000);
    const enc = encoder(2);
    try {
      const err = await enc
        .encode({ entries, compression: 'gzip', stagingDir: staging() })
        .catch((e: unknown) => e);
      expect(isIngotError(err) && err.code).toBe('E_SOURCE_CHANGED');
    } finally {
      await enc.close();
    }
  });
});
