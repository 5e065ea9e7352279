import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { materialiseRootfs, collectRootfs } from '../src/adapters/rootfs/materialise.js';
import { readBaseLayer } from '../src/adapters/shared/layer-reader/read-layer.js';
import { OciLayout } from '../src/adapters/shared/layout-reader.js';
import { applyLayer } from '../src/core/apply-layer.js';
import { encodeMeasurement } from '../src/core/measurement.js';
import { RootfsTree } from '../src/core/rootfs-tree.js';
import type { Digest } from '../src/domain/digest.js';
import { isIngotError } from '../src/domain/errors.js';
import type { MeasuredEntry } from '../src/domain/measurement.js';
import type { Descriptor } from '../src/domain/oci.js';
import { openArtifact } from '../src/services/artifact.js';
import { buildWith, openStore, storeDir } from './helpers/app.js';
import { useTempDirs } from './helpers/fs.js';
import { comparable, measureTree } from './helpers/rootfs.js';
import { rawTar, writeLayout } from './helpers/layout.js';

const tmp = useTempDirs();
const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isIngotError(err)) return err.code;
    throw err;
  }
  return 'materialised';
}

describe('rootfs materialisation', () => {
  it('unpacks an artifact once, exactly as measured, and collects it when unused', async () => {
    const home = tmp();
    const built = await buildWith(home, HELLO);
    const artifact = await openArtifact(await openStore(home), built.digest);
    const request = {
      cacheDir: join(home, 'rootfs'),
      storeRoot: storeDir(home),
      image: built.digest,
      layers: artifact.manifest.layers,
      diffIds: artifact.config.rootfs.diff_ids,
      measurement: artifact.measurement,
      mountPoints: ['/proc', '/dev', '/sys', '/tmp', '/var/lib/hello'],
    };
    const first = await materialiseRootfs(request);
    expect(first.reused).toBe(false);
    expect(first.mountPoints).toEqual([]); // the image carries its mount points
    for (const e of artifact.measurement.entries) {
      const st = lstatSync(join(first.rootfs, e.path));
      expect({ path: e.path, uid: st.uid, gid: st.gid }).toEqual({
        path: e.path,
        uid: e.uid,
        gid: e.gid,
      });
      if (e.type === 'symlink') expect(readlinkSync(join(first.rootfs, e.path))).toBe(e.target);
      else expect(st.mode & 0o7777).toBe(e.mode);
      if (e.type === 'file')
        expect(
          createHash('sha256')
            .update(readFileSync(join(first.rootfs, e.path)))
            .digest('hex'),
        ).toBe(e.sha256);
    }
    expect(lstatSync(join(first.rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(join(home, 'rootfs')).mode & 0o777).toBe(0o700);
    expect((await materialiseRootfs(request)).reused).toBe(true);
    expect(collectRootfs(join(home, 'rootfs'), new Set([built.digest]))).toEqual([]);
    expect(collectRootfs(join(home, 'rootfs'), new Set())).toHaveLength(1);
    expect(readdirSync(join(home, 'rootfs'))).toEqual([]);

    // A clean-up while another rootfs is being made leaves its staging alone (it once
    // removed it mid-way, and the start failed with ENOENT on its objects).
    const making = materialiseRootfs(request);
    await new Promise((r) => setImmediate(r));
    expect(readdirSync(join(home, 'rootfs')).some((n) => n.startsWith('.staging-'))).toBe(true);
    expect(collectRootfs(join(home, 'rootfs'), new Set())).toEqual([]);
    expect((await making).reused).toBe(false);
    expect(collectRootfs(join(home, 'rootfs'), new Set())).toHaveLength(1);
  });

  it('refuses layers that do not flatten to the signed measurement, and keeps nothing', async () => {
    const home = tmp();
    const built = await buildWith(home, HELLO);
    const artifact = await openArtifact(await openStore(home), built.digest);
    const entries = artifact.measurement.entries.map((e) =>
      e.path === '/etc/passwd' ? { ...e, mode: 0o4755 } : e,
    );
    const result = await code(
      materialiseRootfs({
        cacheDir: join(home, 'rootfs'),
        storeRoot: storeDir(home),
        image: built.digest,
        layers: artifact.manifest.layers,
        diffIds: artifact.config.rootfs.diff_ids,
        measurement: { ...artifact.measurement, entries, bytes: encodeMeasurement(entries) },
        mountPoints: [],
      }),
    );
    expect(result).toBe('E_ROOTFS_MEASUREMENT');
    expect(readdirSync(join(home, 'rootfs'))).toEqual([]);
  });

  it('cannot be made to write outside the cache by a hostile layer', async () => {
    const root = tmp();
    const layout = join(root, 'layout');
    const outside = join(root, 'outside');
    const file = (name: string, content = 'x'): Parameters<typeof rawTar>[0][number] => ({
      name,
      type: 'file',
      mode: 0o644,
      content: Buffer.from(content),
    });
    const cases: [string, Parameters<typeof rawTar>[0], string][] = [
      ['a name that climbs', [file('../outside')], 'E_LAYER_ENTRY_NAME'],
      ['an absolute name', [file('/etc/evil')], 'E_LAYER_ENTRY_NAME'],
      [
        'a file written through a symlink of the same layer',
        [{ name: 'link', type: 'symlink', linkname: root, mode: 0o777 }, file('link/outside')],
        'E_ROOTFS_LAYER',
      ],
      [
        'a hard link to a host path',
        [{ name: 'hard', type: 'link', linkname: '/etc/passwd', mode: 0o644 }],
        'E_LAYER_HARDLINK_ESCAPE',
      ],
      [
        'a device node',
        [{ name: 'dev-null', type: 'character-device', mode: 0o666 }],
        'E_LAYER_SPECIAL_FILE',
      ],
    ];
    for (const [what, entries, expected] of cases) {
      const tar = await rawTar(entries);
      const digest = writeLayout(layout, [{ tar, compression: 'none' }]) as Digest;
      const manifest = JSON.parse(
        readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8'),
      ) as { layers: Descriptor[] };
      const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}` as Digest;
      const none: MeasuredEntry[] = [];
      const cache = join(root, 'cache');
      const result = await code(
        materialiseRootfs({
          cacheDir: cache,
          storeRoot: layout,
          image: digest,
          layers: manifest.layers,
          diffIds: [diffId],
          measurement: { entries: none, bytes: encodeMeasurement(none) },
          mountPoints: [],
        }),
      );
      expect({ what, result }).toEqual({ what, result: expected });
      expect(existsSync(outside)).toBe(false);
      expect(readdirSync(cache)).toEqual([]);
    }
  });

  it('keeps paths of the same content independent, for small and large files alike', async () => {
    const root = tmp();
    const layout = join(root, 'layout');
    // Above and below the size up to which contents are hashed in memory (object-writer.ts).
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    const f = (name: string, content: Buffer, mode: number, uid = 0) =>
      ({ name, type: 'file', mode, uid, content }) as const;
    const layer = await rawTar([
      f('x', Buffer.from('same'), 0o644, 1),
      f('y', Buffer.from('same'), 0o600, 2),
      { name: 'z', type: 'link', linkname: 'x', mode: 0o644, uid: 1 },
      f('big1', big, 0o755),
      f('big2', big, 0o640, 3),
      f('big3', Buffer.concat([big, Buffer.from('!')]), 0o644),
      f('u', Buffer.from('unique'), 0o4755),
    ]);
    const digest = writeLayout(layout, [{ tar: layer }]) as Digest;
    const manifest = JSON.parse(
      readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8'),
    ) as { layers: Descriptor[] };
    const diffIds = [`sha256:${createHash('sha256').update(layer).digest('hex')}` as Digest];
    const tree = new RootfsTree();
    applyLayer(
      tree,
      (await readBaseLayer(new OciLayout(layout), manifest.layers[0]!, diffIds[0]!)).changes,
    );
    const entries = tree.entries().map((t) => t.entry);
    const cacheDir = join(root, 'cache');
    const made = await materialiseRootfs({
      cacheDir,
      storeRoot: layout,
      image: digest,
      layers: manifest.layers,
      diffIds,
      measurement: { entries, bytes: encodeMeasurement(entries) },
      mountPoints: [],
    });
    expect(measureTree(made.rootfs)).toEqual(comparable(entries));
    const ino = (p: string) => lstatSync(join(made.rootfs, p)).ino;
    expect(new Set(['x', 'y', 'z', 'big1', 'big2'].map(ino)).size).toBe(5);
    // Nothing but the rootfs is left: no objects, no staging.
    expect(readdirSync(cacheDir)).toEqual([digest.slice(7)]);
    expect(readdirSync(join(cacheDir, digest.slice(7))).sort()).toEqual(['ready.json', 'rootfs']);
  });

  it('never reaches the host through a hard link whose folder a later layer made a symlink', async () => {
    const root = tmp();
    const victimDir = join(root, 'host');
    mkdirSync(victimDir);
    const victim = join(victimDir, 't');
    writeFileSync(victim, 'host secret', { mode: 0o600 });
    const layout = join(root, 'layout');
    const layer1 = await rawTar([
      { name: 'a', type: 'directory', mode: 0o755 },
      { name: 'a/t', type: 'file', mode: 0o4777, uid: 4321, content: Buffer.from('x') },
      { name: 'b', type: 'link', linkname: 'a/t', mode: 0o4777, uid: 4321 },
    ]);
    const layer2 = await rawTar([{ name: 'a', type: 'symlink', linkname: victimDir, mode: 0o777 }]);
    const digest = writeLayout(layout, [
      { tar: layer1, compression: 'none' },
      { tar: layer2, compression: 'none' },
    ]) as Digest;
    const manifest = JSON.parse(
      readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8'),
    ) as { layers: Descriptor[] };
    const diffIds = [layer1, layer2].map(
      (t) => `sha256:${createHash('sha256').update(t).digest('hex')}` as Digest,
    );
    // The measurement a build from such a base would sign: the honest flattening.
    const tree = new RootfsTree();
    for (const [i, d] of manifest.layers.entries())
      applyLayer(tree, (await readBaseLayer(new OciLayout(layout), d, diffIds[i]!)).changes);
    const entries = tree.entries().map((t) => t.entry);
    expect(entries.find((e) => e.path === '/b')).toMatchObject({ hardlink: '/a/t' });
    const result = await materialiseRootfs({
      cacheDir: join(root, 'cache'),
      storeRoot: layout,
      image: digest,
      layers: manifest.layers,
      diffIds,
      measurement: { entries, bytes: encodeMeasurement(entries) },
      mountPoints: [],
    });
    const victimNow = lstatSync(victim);
    expect({ mode: victimNow.mode & 0o7777, uid: victimNow.uid }).toEqual({ mode: 0o600, uid: 0 });
    expect(readFileSync(victim, 'utf8')).toBe('host secret');
    expect(readlinkSync(join(result.rootfs, 'a'))).toBe(victimDir);
    expect(lstatSync(join(result.rootfs, 'b')).uid).toBe(4321);
  });
});
