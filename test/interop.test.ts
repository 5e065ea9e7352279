import { mkdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readMeasurement } from '../src/services/inspect.js';
import { buildWith, openStore, storeDir } from './helpers/app.js';
import { useTempDirs, writeTree } from './helpers/fs.js';
import { comparable, measureTree } from './helpers/rootfs.js';
import { requireTool, run } from './helpers/tools.js';

const tmp = useTempDirs();

beforeAll(() => {
  requireTool('umoci');
  requireTool('skopeo');
});

/** A base made the usual umoci way: two layers, the second deleting what the first added. */
function umociBase(dir: string): string {
  const layout = join(dir, 'base');
  const bundle = join(dir, 'bundle');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:v1`]);
  run('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
  const rootfs = join(bundle, 'rootfs');
  writeTree(rootfs, {
    'etc/os-release': 'ID=debian\nVERSION_ID="12"\n',
    'var/lib/dpkg/status':
      'Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4\n\nPackage: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2024a\n',
    'usr/bin/tool': { content: '#!/bin/sh\necho tool\n', mode: 0o755 },
    'usr/bin/gone': 'removed in v2',
    'opt/old/a': 'a',
    'opt/old/b': 'b',
    'opt/keep': 'keep',
    bin: { symlink: 'usr/bin' },
  });
  run('umoci', ['repack', '--image', `${layout}:v1`, bundle]);
  // repack diffs against the image a bundle came from: delete in a fresh unpack of v1.
  const second = join(dir, 'bundle2');
  run('umoci', ['unpack', '--image', `${layout}:v1`, second]);
  unlinkSync(join(second, 'rootfs/usr/bin/gone'));
  rmSync(join(second, 'rootfs/opt/old'), { recursive: true });
  run('umoci', ['repack', '--image', `${layout}:v2`, second]);
  return layout;
}

function appBaseline(dir: string, from: string): void {
  writeTree(dir, {
    'ingot.yaml': `name: app\nversion: "2"\nfrom: ${from}\nlayers:\n  - source: app\n    destination: /opt/app\nconfig:\n  entrypoint: [/usr/bin/tool]\n`,
    'app/index.html': '<p>app</p>\n',
    'app/bin/run': { content: 'run\n', mode: 0o755 },
  });
}

describe('interoperability with umoci and skopeo', () => {
  it('builds FROM a umoci layout, applying its whiteouts, and umoci unpacks exactly the measurement', async () => {
    const work = tmp();
    umociBase(work);
    const ctx = join(work, 'ctx');
    mkdirSync(ctx);
    appBaseline(ctx, `{ layout: ../base, tag: v2 }`);
    const home = tmp();
    const result = await buildWith(home, ctx);
    expect(result.base?.tag).toBe('v2');
    expect(result.layers.filter((l) => l.origin === 'base')).toHaveLength(2);

    const measurement = await readMeasurement(await openStore(home), result.digest);
    const paths = measurement.map((e) => e.path);
    expect(paths).toContain('/usr/bin/tool');
    expect(paths).toContain('/opt/keep');
    expect(paths).not.toContain('/usr/bin/gone');
    expect(paths.filter((p) => p.startsWith('/opt/old'))).toEqual([]);
    expect(result.sbom.packages).toBe(2);

    const bundle = join(work, 'unpacked');
    run('umoci', ['unpack', '--image', `${storeDir(home)}:app:2`, bundle]);
    expect(measureTree(join(bundle, 'rootfs'))).toEqual(comparable(measurement));
  });

  it('is read by skopeo, copied by skopeo without changing the digest, and builds FROM the copy', async () => {
    const work = tmp();
    const ctx = join(work, 'ctx');
    mkdirSync(ctx);
    appBaseline(ctx, 'scratch');
    const home = tmp();
    const built = await buildWith(home, ctx, { tag: 'app:base' });

    const inspected = JSON.parse(run('skopeo', ['inspect', `oci:${storeDir(home)}:app:base`])) as {
      Digest: string;
      Layers: string[];
      Architecture: string;
    };
    expect(inspected.Digest).toBe(built.digest);
    expect(inspected.Layers).toEqual(built.layers.map((l) => l.descriptor.digest));
    expect(inspected.Architecture).toBe('amd64');

    const copy = join(work, 'copy');
    run('skopeo', ['copy', `oci:${storeDir(home)}:app:base`, `oci:${copy}:copied`]);
    expect(
      (JSON.parse(run('skopeo', ['inspect', `oci:${copy}:copied`])) as { Digest: string }).Digest,
    ).toBe(built.digest);

    const child = join(work, 'child');
    writeTree(child, {
      'ingot.yaml': `name: child\nversion: "1"\nfrom: { layout: ../copy, tag: copied, digest: "${built.digest}" }\nlayers:\n  - source: extra.txt\n    destination: /opt/app/extra.txt\n`,
      'extra.txt': 'extra\n',
    });
    const home2 = tmp();
    const result = await buildWith(home2, child);
    expect(result.base?.digest).toBe(built.digest);
    const measurement = await readMeasurement(await openStore(home2), result.digest);
    expect(measurement.map((e) => e.path)).toEqual(
      expect.arrayContaining(['/opt/app/index.html', '/opt/app/bin/run', '/opt/app/extra.txt']),
    );

    const bundle = join(work, 'unpacked');
    run('umoci', ['unpack', '--image', `${storeDir(home2)}:child:1`, bundle]);
    expect(measureTree(join(bundle, 'rootfs'))).toEqual(comparable(measurement));
  });

  it('reads, copies and unpacks a layer that was cut into parts', async () => {
    const ctx = tmp();
    const files: Record<string, string> = {
      'ingot.yaml':
        'name: parts\nversion: "1"\nlayers:\n  - source: data\n    destination: /srv/data\n',
    };
    // ~30 MB in 480 files: more than one part (core/layer-parts.ts), some text, some not.
    for (let i = 0; i < 480; i++) {
      const bytes = Buffer.alloc(64 * 1024);
      for (let k = 0; k < bytes.length; k += 4)
        bytes.writeUInt32LE(Math.imul(i + 1, k + 7) >>> 0, k);
      files[`data/d${i % 12}/f${i}.bin`] =
        i % 3 ? bytes.toString('base64') : bytes.toString('latin1');
    }
    writeTree(ctx, files);
    const home = tmp();
    const built = await buildWith(home, ctx);
    const parts = built.layers.filter((l) => l.origin.startsWith('data'));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((l) => l.origin)).toEqual(
      parts.map((_, k) => `data → /srv/data (part ${k + 1}/${parts.length})`),
    );

    const inspected = JSON.parse(run('skopeo', ['inspect', `oci:${storeDir(home)}:parts:1`])) as {
      Layers: string[];
    };
    expect(inspected.Layers).toEqual(built.layers.map((l) => l.descriptor.digest));
    const copy = join(tmp(), 'copy');
    run('skopeo', ['copy', `oci:${storeDir(home)}:parts:1`, `oci:${copy}:copied`]);
    expect(
      (JSON.parse(run('skopeo', ['inspect', `oci:${copy}:copied`])) as { Digest: string }).Digest,
    ).toBe(built.digest);

    const measurement = await readMeasurement(await openStore(home), built.digest);
    const bundle = join(tmp(), 'bundle');
    run('umoci', ['unpack', '--image', `${storeDir(home)}:parts:1`, bundle]);
    expect(measureTree(join(bundle, 'rootfs'))).toEqual(comparable(measurement));
  });

  it('umoci unpacks the example service to exactly its measurement', async () => {
    const home = tmp();
    const result = await buildWith(home, 'examples/hello');
    const measurement = await readMeasurement(await openStore(home), result.digest);
    const bundle = join(tmp(), 'bundle');
    run('umoci', ['unpack', '--image', `${storeDir(home)}:hello:1.0.0`, bundle]);
    expect(measureTree(join(bundle, 'rootfs'))).toEqual(comparable(measurement));
    expect(measurement.find((e) => e.path === '/bin/busybox')).toMatchObject({
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
    });
  });
});
