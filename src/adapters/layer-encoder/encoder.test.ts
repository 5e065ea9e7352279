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
import { KnownDigests } from './known-digests.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const FIXTURE_TIME = 1_600_000_000;

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
    // Whole seconds, so that a test can put an mtime back exactly.
    utimesSync(abs, FIXTURE_TIME, FIXTURE_TIME);
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
  const SECRET = Buffer.alloc(32, 7);
  const withCache = (
    root: string,
    s: ReturnType<typeof store>,
    secret = SECRET,
    now?: () => number,
  ) =>
    new ParallelLayerEncoder({
      workers: 2,
      cacheFile: join(root, 'cache.json'),
      cacheSecret: secret,
      blobPath: s.blobPath,
      blobExists: (d) => existsSync(s.blobPath(d)),
      parts,
      ...(now && { now }),
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
    now?: () => number,
  ): Promise<void> => {
    const { entries, staging } = fixture(40, 256 * 1024);
    const root = dirs.at(-1)!;
    const s = store(root);
    const enc = withCache(root, s, SECRET, now);
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

  /** A clock a minute ahead: the fixture's files count as settled (known-digests.ts). */
  const later = () => Date.now() + 60_000;
  /** Encode warm, and count the bytes the hash pass had to read. */
  const warmRead = async (enc: ParallelLayerEncoder, entries: PlannedEntry[], dir: string) => {
    let hashed = 0;
    const layer = await enc.encode({
      entries,
      compression: 'gzip',
      stagingDir: dir,
      onProgress: (_d, total, step) => {
        if (step === 'hash') hashed = total;
      },
    });
    await Promise.all(layer.parts.map((p) => p.staged));
    return { layer, hashed };
  };

  it('reads again only the files whose identity changed since the last build', async () => {
    await afterOneBuild(async ({ entries, staging, enc }) => {
      writeFileSync(entries[20]!.file!.abs, 'changed\n');
      const changed = restat(entries);
      const { layer, hashed } = await warmRead(enc, changed, staging());
      expect(hashed).toBe('changed\n'.length);
      const fresh = await cold(changed, staging);
      expect(layer.parts.map((p) => p.descriptor)).toEqual(fresh.parts.map((p) => p.descriptor));
      expect(layer.files).toEqual(fresh.files);
    }, later);
  });

  it('sees new content behind an old mtime (ctime moved): the file is read again', async () => {
    await afterOneBuild(async ({ entries, staging, enc, first }) => {
      const victim = entries[20]!.file!;
      const bytes = readFileSync(victim.abs);
      bytes[0] = bytes[0]! ^ 0xff; // same size
      writeFileSync(victim.abs, bytes);
      utimesSync(victim.abs, FIXTURE_TIME, FIXTURE_TIME);
      const changed = restat(entries);
      expect(changed[20]!.file!.mtimeMs).toBe(victim.mtimeMs);
      const { layer, hashed } = await warmRead(enc, changed, staging());
      expect(hashed).toBe(victim.size);
      expect(layer.files[20]!.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(layer.parts.map((p) => p.descriptor)).not.toEqual(
        first.parts.map((p) => p.descriptor),
      );
      const fresh = await cold(changed, staging);
      expect(layer.parts.map((p) => p.descriptor)).toEqual(fresh.parts.map((p) => p.descriptor));
    }, later);
  });

  it('fails on a stale remembered digest, forgets it, and the next build reads the file', async () => {
    await afterOneBuild(async ({ entries, staging, root, s }) => {
      // A digest remembered for the file's current identity that its bytes do not give:
      // what a rewrite that kept the file's stat would leave. Reading the file to encode its
      // part finds the difference. A copy of the file in a part reused on that digest would
      // hold the old bytes, so the build fails rather than mix two versions.
      const bytes = readFileSync(entries[20]!.file!.abs);
      bytes[0] = bytes[0]! ^ 0xff;
      writeFileSync(entries[20]!.file!.abs, bytes);
      const changed = restat(entries);
      const file = join(root, 'known-digests-v1');
      const victim = changed[20]!.file!;
      new KnownDigests(file, SECRET).record([
        { file: victim, sha256: 'ab'.repeat(32), readSince: later() },
      ]);
      expect(new KnownDigests(file, SECRET).lookup(victim)).toBe('ab'.repeat(32));
      const encode = async () => {
        const enc = withCache(root, s, SECRET, later);
        try {
          const layer = await enc.encode({
            entries: changed,
            compression: 'gzip',
            stagingDir: staging(),
          });
          await Promise.all(layer.parts.map((p) => p.staged));
          return layer;
        } finally {
          await enc.close();
        }
      };
      const err = await encode().catch((e: unknown) => e);
      expect(isIngotError(err) && err.code).toBe('E_SOURCE_CHANGED');
      expect(new KnownDigests(file, SECRET).lookup(victim)).toBeUndefined();

      const again = await encode();
      expect(again.files[20]!.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      const fresh = await cold(changed, staging);
      expect(again.parts.map((p) => p.descriptor)).toEqual(fresh.parts.map((p) => p.descriptor));
    }, later);
  });

  it('remembers no digest of a file changed just before the build (racy)', async () => {
    // The real clock: the fixture was written a moment ago, so nothing is remembered.
    await afterOneBuild(async ({ entries, staging, enc }) => {
      const { hashed } = await warmRead(enc, entries, staging());
      expect(hashed).toBe(entries.reduce((n, e) => n + e.header.size, 0));
    });
  });

  it('believes no cache file its secret does not vouch for (a planted or foreign cache)', async () => {
    await afterOneBuild(async ({ entries, staging, root, s, first }) => {
      const file = join(root, 'cache.json');
      const written = readFileSync(file, 'utf8');
      type Doc = { payload: string; mac: string };
      type Rec = { digest: string; size: number; diffId: string; sha1s: string };
      // One record pointed at another part's blob, and every segment at another's member,
      // the file's MAC left as it was: what a cache restored from an untrusted job could be.
      const doc = JSON.parse(written) as Doc;
      const payload = JSON.parse(doc.payload) as {
        entries: [string, object][];
        parts: [string, Rec][];
      };
      payload.parts[0]![1] = { ...payload.parts[1]![1] };
      const locations = payload.entries.map(([, loc]) => loc);
      payload.entries = payload.entries.map(([key], i) => [
        key,
        locations[(i + 1) % locations.length]!,
      ]);
      const planted = JSON.stringify({ ...doc, payload: JSON.stringify(payload) });
      // The same file, vouched for by another home's secret, is no better.
      for (const [content, secret] of [
        [planted, SECRET],
        [written, Buffer.alloc(32, 8)],
      ] as const) {
        writeFileSync(file, content);
        const enc = withCache(root, s, secret);
        try {
          const again = await enc.encode({ entries, compression: 'gzip', stagingDir: staging() });
          const staged = await Promise.all(again.parts.map((p) => p.staged));
          expect(again.parts.map((p) => [p.descriptor, p.diffId])).toEqual(
            first.parts.map((p) => [p.descriptor, p.diffId]),
          );
          expect(again.files).toEqual(first.files);
          expect(again.reusedBytes).toBe(0);
          expect(staged.every((p) => p !== null)).toBe(true);
        } finally {
          await enc.close();
        }
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
