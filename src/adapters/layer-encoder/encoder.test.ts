import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlannedEntry } from '../../core/layer-plan.js';
import { isIngotError } from '../../domain/errors.js';
import type { LayerCompression } from '../../domain/media-types.js';
import type { EncodedLayer } from '../../ports/layer-encoder.js';
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
        await Promise.all([...a.parts, ...b.parts].map((p) => p.staged));
        expect(
          b.parts.map((p) => p.descriptor.digest),
          compression,
        ).toEqual(a.parts.map((p) => p.descriptor.digest));
        expect(b.parts.map((p) => p.diffId)).toEqual(a.parts.map((p) => p.diffId));
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

describe('parts stored by an earlier build', () => {
  /** A tiny store: staged blobs move into a folder by digest, as the OCI store's commit does. */
  function store(root: string) {
    const blobs = join(root, 'blobs');
    mkdirSync(blobs, { recursive: true });
    const blobPath = (d: string) => join(blobs, d.slice('sha256:'.length));
    const commit = async (layer: EncodedLayer) => {
      for (const part of layer.parts) {
        const staged = await part.staged;
        if (staged !== null) renameSync(staged, blobPath(part.descriptor.digest));
      }
    };
    return { blobPath, commit };
  }
  const parts = { min: 1 << 20, target: 2 << 20, max: 4 << 20, maxParts: 48 };
  const withCache = (root: string, s: ReturnType<typeof store>) =>
    new ParallelLayerEncoder({
      workers: 2,
      cacheFile: join(root, 'cache.json'),
      blobPath: s.blobPath,
      blobExists: (d) => existsSync(s.blobPath(d)),
      parts,
    });
  const cold = async (entries: PlannedEntry[], staging: () => string) => {
    const enc = new ParallelLayerEncoder({
      workers: 2,
      cacheFile: null,
      blobPath: () => '/nonexistent',
      blobExists: () => false,
      parts,
    });
    try {
      const layer = await enc.encode({ entries, compression: 'gzip', stagingDir: staging() });
      await Promise.all(layer.parts.map((p) => p.staged));
      return layer;
    } finally {
      await enc.close();
    }
  };
  const restat = (entries: PlannedEntry[]): PlannedEntry[] =>
    entries.map((e) => {
      const st = statSync(e.file!.abs);
      return { header: { ...e.header, size: st.size }, file: sourceFile(e.file!.abs, st) };
    });

  /** Encode once, commit to the store and record it, as a finished build does. */
  const built = async (
    enc: ParallelLayerEncoder,
    s: ReturnType<typeof store>,
    entries: PlannedEntry[],
    stagingDir: string,
  ): Promise<EncodedLayer> => {
    const layer = await enc.encode({ entries, compression: 'gzip', stagingDir });
    await s.commit(layer);
    enc.remember([layer]);
    return layer;
  };

  /** A 10 MB layer of 40 files, encoded once and stored; `body` goes on from there. */
  const afterOneBuild = async (
    body: (t: {
      entries: PlannedEntry[];
      staging: () => string;
      root: string;
      s: ReturnType<typeof store>;
      enc: ParallelLayerEncoder;
      first: EncodedLayer;
    }) => Promise<void>,
  ): Promise<void> => {
    const { entries, staging } = fixture(40, 256 * 1024);
    const root = dirs.at(-1)!;
    const s = store(root);
    const enc = withCache(root, s);
    try {
      const first = await built(enc, s, entries, staging());
      await body({ entries, staging, root, s, enc, first });
    } finally {
      await enc.close();
    }
  };

  it('uses unchanged parts as they are and encodes only the part with the changed file', async () => {
    await afterOneBuild(async ({ entries, staging, enc, first }) => {
      expect(first.parts.length).toBeGreaterThan(2);

      writeFileSync(entries[20]!.file!.abs, 'changed\n');
      const changed = restat(entries);
      const steps = new Set<string>();
      const warm = await enc.encode({
        entries: changed,
        compression: 'gzip',
        stagingDir: staging(),
        onProgress: (_d, _t, step) => steps.add(step),
      });
      const staged = await Promise.all(warm.parts.map((p) => p.staged));
      expect(steps).toEqual(new Set(['hash', 'encode']));
      // Exactly the part holding the changed file was written; the others are the store's.
      expect(staged.filter((p) => p !== null)).toHaveLength(1);
      for (const [i, part] of warm.parts.entries())
        if (staged[i] === null) expect(part.reusedBytes).toBe(part.rawBytes);

      const fresh = await cold(changed, staging);
      expect(warm.parts.map((p) => [p.descriptor, p.diffId])).toEqual(
        fresh.parts.map((p) => [p.descriptor, p.diffId]),
      );
      expect(warm.files).toEqual(fresh.files);
    });
  });

  it('never uses a cache record the sources do not bear out (stale, or planted)', async () => {
    const { entries, staging } = fixture(40, 256 * 1024);
    const root = dirs.at(-1)!;
    const s = store(root);
    const once = withCache(root, s);
    const first = await built(once, s, entries, staging()).finally(() => once.close());
    // Point the first part's record at the second part's blob, as a poisoned cache restored
    // into a CI job could: an intact blob, and a sha1 list of the right length beside it.
    const file = join(root, 'cache.json');
    type Rec = { digest: string; size: number; diffId: string; sha1s: string };
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { parts: [string, Rec][] };
    const [a, b] = [doc.parts[0]![1], doc.parts[1]![1]];
    const sidecar = (d: string) => join(root, 'part-sha1s', d.slice('sha256:'.length));
    writeFileSync(sidecar(b.digest), readFileSync(sidecar(a.digest)));
    doc.parts[0]![1] = { ...b, sha1s: a.sha1s };
    writeFileSync(file, JSON.stringify(doc));

    const enc = withCache(root, s);
    try {
      // The lie is found before anything is committed, and the record dropped...
      const lied = await enc.encode({ entries, compression: 'gzip', stagingDir: staging() });
      const err = await Promise.all(lied.parts.map((p) => p.staged)).catch((e: unknown) => e);
      expect(isIngotError(err) && err.code).toBe('E_BUILD_CACHE_STALE');
      // ...so the next attempt encodes that part from its sources.
      const again = await enc.encode({ entries, compression: 'gzip', stagingDir: staging() });
      const staged = await Promise.all(again.parts.map((p) => p.staged));
      expect(again.parts.map((p) => [p.descriptor, p.diffId])).toEqual(
        first.parts.map((p) => [p.descriptor, p.diffId]),
      );
      expect(again.files).toEqual(first.files);
      // The lying record was not used, nor the one whose sha1 list it overwrote.
      expect(staged.filter((p) => p !== null)).toHaveLength(2);
    } finally {
      await enc.close();
    }
  });

  it('never copies a cached segment that does not decompress to the bytes it stands for', async () => {
    await afterOneBuild(async ({ entries, staging, root, s, first }) => {
      // Every segment record now points at another segment's member, each still with that
      // member's own length and sha256: intact bytes, wrong content.
      const file = join(root, 'cache.json');
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { entries: [string, object][] };
      const locations = doc.entries.map(([, loc]) => loc);
      doc.entries = doc.entries.map(([key], i) => [key, locations[(i + 1) % locations.length]!]);
      // And no whole part is on record, so every part goes through its segments.
      writeFileSync(file, JSON.stringify({ ...doc, parts: [] }));
      const planted = withCache(root, s);
      try {
        const again = await planted.encode({
          entries,
          compression: 'gzip',
          stagingDir: staging(),
        });
        await Promise.all(again.parts.map((p) => p.staged));
        expect(again.parts.map((p) => p.descriptor)).toEqual(first.parts.map((p) => p.descriptor));
        expect(again.reusedBytes).toBe(0);
      } finally {
        await planted.close();
      }
    });
  });

  it('never refers to a damaged stored part: it encodes it again, to the same digest', async () => {
    await afterOneBuild(async ({ entries, staging, s, enc, first }) => {
      const victim = first.parts[1]!.descriptor;
      const bytes = readFileSync(s.blobPath(victim.digest));
      bytes[100] = bytes[100]! ^ 0xff;
      writeFileSync(s.blobPath(victim.digest), bytes);

      const again = await enc.encode({ entries, compression: 'gzip', stagingDir: staging() });
      const staged = await Promise.all(again.parts.map((p) => p.staged));
      expect(again.parts.map((p) => p.descriptor)).toEqual(first.parts.map((p) => p.descriptor));
      expect(staged.map((p) => p !== null)).toEqual(first.parts.map((_, i) => i === 1));
      const healed = readFileSync(staged[1]!);
      expect(`sha256:${createHash('sha256').update(healed).digest('hex')}`).toBe(victim.digest);
    });
  });
});
