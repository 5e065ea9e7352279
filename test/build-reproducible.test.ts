import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWith, openStore } from './helpers/app.js';
import { scrambleMtimes, useTempDirs, writeTree, type TreeSpec } from './helpers/fs.js';
import { requireTool } from './helpers/tools.js';
import type { Digest } from '../src/domain/digest.js';
import { openArtifact } from '../src/services/artifact.js';

const tmp = useTempDirs();

const BASELINE = `name: repro
version: "1"
layers:
  - source: app
    destination: /opt/app
  - source: bin/tool
    destination: /usr/local/bin/
config:
  entrypoint: [/usr/local/bin/tool]
`;

/** Files in a fixed list; `order` decides the order they are created in. */
function files(big: Buffer): TreeSpec {
  return {
    'app/index.html': '<h1>hi</h1>\n',
    'app/b/c/deep.txt': 'deep\n',
    'app/a/z.txt': 'z\n',
    'app/a/y.txt': 'y\n',
    'app/run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
    'app/link': { symlink: 'a/z.txt' },
    'app/empty': '',
    'app/data.bin': big,
    'bin/tool': { content: 'tool\n', mode: 0o755 },
  };
}

function makeBaseline(dir: string, order: 'forward' | 'reverse', umask: number, big: Buffer): void {
  const spec = files(big);
  const keys = Object.keys(spec);
  if (order === 'reverse') keys.reverse();
  const old = process.umask(umask);
  try {
    for (const k of keys) writeTree(dir, { [k]: spec[k]! });
    writeFileSync(join(dir, 'ingot.yaml'), BASELINE);
  } finally {
    process.umask(old);
  }
}

describe('reproducible builds', () => {
  // Big enough for several segments, so the parallel path and its ordering are exercised.
  const big = Buffer.alloc(9 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 27;

  it('gives bit-identical images whatever the mtimes, umask, creation order and store', async () => {
    const one = tmp();
    const two = tmp();
    makeBaseline(one, 'forward', 0o022, big);
    makeBaseline(two, 'reverse', 0o002, big);
    scrambleMtimes(one, 1);
    scrambleMtimes(two, 99);

    for (const compression of ['gzip', 'zstd', 'none'] as const) {
      const a = await buildWith(tmp(), one, { compression });
      const b = await buildWith(tmp(), two, { compression, workers: 1 });
      expect(b.digest, compression).toBe(a.digest);
      expect(b.measurement.digest).toBe(a.measurement.digest);
      expect(b.sbom.digest).toBe(a.sbom.digest);
    }
  });

  it('records SOURCE_DATE_EPOCH as the time, and it changes the digest', async () => {
    const dir = tmp();
    makeBaseline(dir, 'forward', 0o022, Buffer.from('x'));
    const home = tmp();
    const zero = await buildWith(home, dir);
    const later = await buildWith(home, dir, { epoch: 1_700_000_000, tag: 'repro:later' });
    expect(later.digest).not.toBe(zero.digest);
    const store = await openStore(home);
    const manifest = JSON.parse((await store.readBlob(later.digest, 1 << 20)).toString()) as {
      annotations: Record<string, string>;
    };
    expect(manifest.annotations['org.opencontainers.image.created']).toBe('2023-11-14T22:13:20Z');
  });

  it('writes layers that gzip, zstd and tar read back to the same content', async () => {
    requireTool('zstd');
    const dir = tmp();
    makeBaseline(dir, 'forward', 0o022, big);
    const listings = new Set<string>();
    for (const compression of ['gzip', 'zstd', 'none'] as const) {
      const home = tmp();
      const r = await buildWith(home, dir, { compression });
      const store = await openStore(home);
      const layer = r.layers[0]!;
      expect(layer.descriptor.mediaType).toBe(
        {
          gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
          zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
          none: 'application/vnd.oci.image.layer.v1.tar',
        }[compression],
      );
      const path = store.blobPath(layer.descriptor.digest);
      const decompressed =
        compression === 'gzip'
          ? execFileSync('gzip', ['-dc', path], { maxBuffer: 1 << 30 })
          : compression === 'zstd'
            ? execFileSync('zstd', ['-dc', path], { maxBuffer: 1 << 30 })
            : readFileSync(path);
      const diffId =
        `sha256:${(await import('node:crypto')).createHash('sha256').update(decompressed).digest('hex')}` as Digest;
      expect(diffId).toBe(layer.diffId);
      const tarList = tmp();
      writeFileSync(join(tarList, 'l.tar'), decompressed);
      listings.add(
        execFileSync('tar', ['--numeric-owner', '-tvf', join(tarList, 'l.tar')], {
          encoding: 'utf8',
        }),
      );
    }
    expect(listings.size).toBe(1);
    expect([...listings][0]).toMatch(/^-rwxr-xr-x 0\/0 .* opt\/app\/run\.sh$/m);
    expect([...listings][0]).toMatch(/^lrwxrwxrwx 0\/0 .* opt\/app\/link -> a\/z\.txt$/m);
  });

  it("bakes the contract's seccomp.deny into the image, the same however it is written", async () => {
    const withDeny = (deny: string) => {
      const dir = tmp();
      makeBaseline(dir, 'forward', 0o022, Buffer.from('x'));
      writeFileSync(join(dir, 'ingot.yaml'), `${BASELINE}runtime:\n  seccomp: { deny: ${deny} }\n`);
      return dir;
    };
    const home = tmp();
    const a = await buildWith(home, withDeny('[uname, getcwd]'));
    const b = await buildWith(tmp(), withDeny('[getcwd, uname, uname]'));
    expect(b.digest).toBe(a.digest);
    // Read back as the agent reads it before a start: the image config's runtime label.
    const artifact = await openArtifact(await openStore(home), a.digest);
    expect(artifact.runtime.seccomp).toEqual({ deny: ['getcwd', 'uname'] });
    // An image that asks for nothing is not the same image.
    const plain = tmp();
    makeBaseline(plain, 'forward', 0o022, Buffer.from('x'));
    const c = await buildWith(home, plain, { tag: 'repro:plain' });
    expect(c.digest).not.toBe(a.digest);
    expect((await openArtifact(await openStore(home), c.digest)).runtime).not.toHaveProperty(
      'seccomp',
    );
  });
});

describe('warm rebuilds', () => {
  it('re-encode only what changed, and give the digest a cold build gives', async () => {
    const dir = tmp();
    const big = Buffer.alloc(24 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    makeBaseline(dir, 'forward', 0o022, big);
    for (let i = 0; i < 300; i++)
      writeTree(dir, { [`app/many/f${i}.txt`]: `file ${i} `.repeat(2000) });
    const home = tmp();
    const first = await buildWith(home, dir);
    expect(first.layers.every((l) => l.reusedBytes === 0)).toBe(true);
    // The 24 MiB file and the 6 MB of small ones make more than one part.
    const parts = first.layers.filter((l) => l.origin.startsWith('app'));
    expect(parts.length).toBeGreaterThan(1);

    writeFileSync(join(dir, 'app/many/f150.txt'), 'changed');
    const warm = await buildWith(home, dir, { tag: 'repro:warm' });
    const cold = await buildWith(tmp(), dir, { tag: 'repro:warm' });
    expect(warm.digest).toBe(cold.digest);
    expect(warm.digest).not.toBe(first.digest);
    // The measurement and SBOM too: file digests taken from the first pass and the cache
    // must be what reading the files gives.
    expect(warm.measurement.digest).toBe(cold.measurement.digest);
    expect(warm.sbom.digest).toBe(cold.sbom.digest);
    const reused = warm.layers.reduce((n, l) => n + l.reusedBytes, 0);
    const raw = warm.layers.reduce((n, l) => n + l.rawBytes, 0);
    expect(reused / raw).toBeGreaterThan(0.8);
    // The part with the big file did not change: it is the same blob, not a copy.
    const unchanged = warm.layers.filter((l) =>
      first.layers.some((f) => f.descriptor.digest === l.descriptor.digest),
    );
    expect(unchanged.length).toBeGreaterThan(0);
    expect(unchanged.every((l) => l.reusedBytes === l.rawBytes)).toBe(true);

    // --no-cache reads and encodes everything, and leaves the cache as it was.
    const cacheDir = join(home, 'cache');
    const cacheFiles = () =>
      readdirSync(cacheDir).flatMap((f) =>
        statSync(join(cacheDir, f)).isFile() ? [[f, readFileSync(join(cacheDir, f))]] : [],
      );
    const before = cacheFiles();
    expect(before.map(([f]) => f)).toEqual(
      expect.arrayContaining(['segments-v1.json', 'known-digests-v1']),
    );
    const uncached = await buildWith(home, dir, { tag: 'repro:warm', noCache: true });
    expect(uncached.digest).toBe(cold.digest);
    expect(uncached.layers.every((l) => l.reusedBytes === 0)).toBe(true);
    expect(cacheFiles()).toEqual(before);

    // A planted record (a restored CI cache, say) pointing one part at another part's blob
    // is not believed: the cache's MAC does not vouch for it, and the build is what a cold
    // build gives.
    const cacheFile = join(home, 'cache', 'segments-v1.json');
    type Rec = { digest: string; size: number; diffId: string; sha1s: string };
    const outer = JSON.parse(readFileSync(cacheFile, 'utf8')) as { payload: string; mac: string };
    const doc = JSON.parse(outer.payload) as { parts: [string, Rec][] };
    const ours = doc.parts.filter(([key]) => key.includes(':gzip-'));
    ours.at(-1)![1] = { ...ours.at(-2)![1] };
    writeFileSync(cacheFile, JSON.stringify({ ...outer, payload: JSON.stringify(doc) }));
    const planted = await buildWith(home, dir, { tag: 'repro:warm' });
    expect(planted.digest).toBe(cold.digest);
    expect(planted.sbom.digest).toBe(cold.sbom.digest);

    // A damaged stored part is never referred to again: the next build re-hashes it, finds
    // the damage and writes it afresh (same content, same digest), and the store is whole.
    const store = await openStore(home);
    const victim = unchanged[0]!.descriptor;
    damage(store.blobPath(victim.digest), Math.floor(victim.size / 2));
    await expect(store.readBlob(victim.digest, 1 << 30)).rejects.toThrow();
    writeFileSync(join(dir, 'app/many/f151.txt'), 'changed too');
    const afterDamage = await buildWith(home, dir, { tag: 'repro:after-damage' });
    expect(afterDamage.digest).toBe(
      (await buildWith(tmp(), dir, { tag: 'repro:after-damage' })).digest,
    );
    expect(afterDamage.layers.map((l) => l.descriptor.digest)).toContain(victim.digest);
    // ...and it is not reported as reused.
    const healed = afterDamage.layers.find((l) => l.descriptor.digest === victim.digest)!;
    expect(healed.reusedBytes).toBe(0);
    expect(
      afterDamage.layers.some((l) => l.reusedBytes === l.rawBytes && l.origin !== 'base'),
    ).toBe(true);
    await expect(store.readBlob(victim.digest, 1 << 30)).resolves.toHaveLength(victim.size);
  });
});

/** Flip one byte of a (read-only) blob, as disk damage or an intruder would. */
function damage(path: string, at: number): void {
  chmodSync(path, 0o644);
  const bytes = readFileSync(path);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(path, bytes);
}
