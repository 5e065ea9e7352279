import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { materialiseRootfs } from '../src/adapters/rootfs/materialise.js';
import { isIngotError } from '../src/domain/errors.js';
import { openArtifact } from '../src/services/artifact.js';
import { readMeasurement } from '../src/services/inspect.js';
import { buildWith, openStore, storeDir } from './helpers/app.js';
import { snapshot, useTempDirs, writeTree } from './helpers/fs.js';
import { rawTar, writeLayout, type LayerBlob, type RawEntry } from './helpers/layout.js';

const tmp = useTempDirs();
let home: string;
let before: string[];

/** Every refusal must leave the store exactly as it was: no blob, no tag, no staging. */
beforeEach(async () => {
  home = tmp();
  const good = tmp();
  writeTree(good, {
    'ingot.yaml': 'name: good\nversion: "1"\nlayers: [{ source: f, destination: /f }]\n',
    f: 'good\n',
  });
  await buildWith(home, good);
  before = snapshot(storeDir(home));
});

async function refused(
  ctx: string,
  options: Parameters<typeof buildWith>[2] = {},
): Promise<string> {
  try {
    await buildWith(home, ctx, options);
  } catch (err) {
    expect(snapshot(storeDir(home))).toEqual(before);
    if (isIngotError(err)) return err.code;
    throw err;
  }
  throw new Error('the build was expected to be refused');
}

function baseline(dir: string, layers: string, from = 'scratch'): void {
  writeFileSync(
    join(dir, 'ingot.yaml'),
    `name: evil\nversion: "1"\nfrom: ${from}\nlayers:\n${layers}`,
  );
}

describe('hostile sources', () => {
  it('refuses sources outside the baseline folder, directly or through a symlinked folder', async () => {
    const root = tmp();
    const ctx = join(root, 'ctx');
    writeTree(root, { 'outside/secret': 'secret', 'ctx/x': 'x' });
    baseline(ctx, '  - { source: ../outside, destination: /o }\n');
    expect(await refused(ctx)).toBe('E_SOURCE_OUTSIDE_CONTEXT');
    symlinkSync('/etc', join(ctx, 'etc-link'));
    baseline(ctx, '  - { source: etc-link/hostname, destination: /h }\n');
    expect(await refused(ctx)).toBe('E_SOURCE_OUTSIDE_CONTEXT');
  });

  it('refuses symlinks that leave the source tree unless followSymlinks copies their target', async () => {
    const root = tmp();
    const ctx = join(root, 'ctx');
    writeTree(root, {
      'outside/secret': 'not for images',
      'ctx/app/ok': { symlink: 'inner' },
      'ctx/app/inner': 'in',
    });
    symlinkSync('../../outside/secret', join(ctx, 'app/leak'));
    baseline(ctx, '  - { source: app, destination: /app }\n');
    expect(await refused(ctx)).toBe('E_SOURCE_SYMLINK_ESCAPE');

    const abs = tmp();
    writeTree(abs, { 'app/x': { symlink: '/etc/passwd' } });
    baseline(abs, '  - { source: app, destination: /app }\n');
    expect(await refused(abs)).toBe('E_SOURCE_SYMLINK_ESCAPE');

    baseline(ctx, '  - { source: app, destination: /app, followSymlinks: true }\n');
    const result = await buildWith(home, ctx);
    const entries = await readMeasurement(await openStore(home), result.digest);
    expect(entries.find((e) => e.path === '/app/leak')).toMatchObject({
      type: 'file',
      size: 'not for images'.length,
    });
    expect(entries.find((e) => e.path === '/app/ok')).toMatchObject({
      type: 'symlink',
      target: 'inner',
    });
  });

  it('refuses a followed symlink that loops back into the tree', async () => {
    const root = tmp();
    const ctx = join(root, 'ctx');
    writeTree(root, { 'ctx/app/file': 'x', 'outside/y': 'y' });
    symlinkSync(join(ctx, 'app'), join(root, 'outside/back'));
    symlinkSync('../../outside', join(ctx, 'app/out'));
    baseline(ctx, '  - { source: app, destination: /app, followSymlinks: true }\n');
    expect(await refused(ctx)).toBe('E_SOURCE_SYMLINK_LOOP');
  });

  it('refuses FIFOs, sockets and device nodes', async () => {
    const fifo = tmp();
    writeTree(fifo, { 'app/a': 'a' });
    execFileSync('mkfifo', [join(fifo, 'app/pipe')]);
    baseline(fifo, '  - { source: app, destination: /app }\n');
    expect(await refused(fifo)).toBe('E_SOURCE_SPECIAL_FILE');

    const sock = tmp();
    writeTree(sock, { 'app/a': 'a' });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(sock, 'app/sock'), resolve));
    try {
      baseline(sock, '  - { source: app, destination: /app }\n');
      expect(await refused(sock)).toBe('E_SOURCE_SPECIAL_FILE');
    } finally {
      server.close();
    }

    const dev = tmp();
    writeTree(dev, { 'app/a': 'a' });
    execFileSync('mknod', [join(dev, 'app/null'), 'c', '1', '3']);
    baseline(dev, '  - { source: app, destination: /app }\n');
    expect(await refused(dev)).toBe('E_SOURCE_SPECIAL_FILE');
  });

  it('refuses undeclared setuid and setgid bits, and keeps declared ones', async () => {
    const ctx = tmp();
    writeTree(ctx, { 'bin/su': { content: 'su', mode: 0o755 } });
    chmodSync(join(ctx, 'bin/su'), 0o4755);
    baseline(ctx, '  - { source: bin, destination: /bin }\n');
    expect(await refused(ctx)).toBe('E_SOURCE_SETUID');
    chmodSync(join(ctx, 'bin/su'), 0o2755);
    expect(await refused(ctx)).toBe('E_SOURCE_SETUID');

    baseline(ctx, '  - { source: bin, destination: /bin, setuid: true }\n');
    const result = await buildWith(home, ctx);
    expect(result.measurement.summary.privileged).toEqual(['/bin/su']);
  });

  it('refuses names that are whiteout markers or not UTF-8, and sources that do not exist', async () => {
    const wh = tmp();
    writeTree(wh, { 'app/.wh.passwd': '' });
    baseline(wh, '  - { source: app, destination: /etc }\n');
    expect(await refused(wh)).toBe('E_SOURCE_NAME_INVALID');

    const latin = tmp();
    mkdirSync(join(latin, 'app'));
    writeFileSync(
      Buffer.concat([Buffer.from(join(latin, 'app/')), Buffer.from([0x63, 0x61, 0x66, 0xe9])]),
      'x',
    );
    baseline(latin, '  - { source: app, destination: /app }\n');
    expect(await refused(latin)).toBe('E_SOURCE_NAME_INVALID');

    const none = tmp();
    baseline(none, '  - { source: nothing-here, destination: /x }\n');
    expect(await refused(none)).toBe('E_SOURCE_NOT_FOUND');
  });
});

describe('hostile base images', () => {
  const file = (name: string, content = 'x'): RawEntry => ({
    name,
    type: 'file',
    content: Buffer.from(content),
  });

  function withBase(
    layers: LayerBlob[],
    extra: {
      tag?: string;
      from?: string;
      layout?: (dir: string) => void;
      architecture?: string;
    } = {},
  ): string {
    const root = tmp();
    writeLayout(join(root, 'base'), layers, {
      ...(extra.architecture !== undefined && { architecture: extra.architecture }),
    });
    extra.layout?.(join(root, 'base'));
    const ctx = join(root, 'ctx');
    writeTree(ctx, { f: 'f' });
    baseline(
      ctx,
      '  - { source: f, destination: /opt/f }\n',
      extra.from ?? '{ layout: ../base, tag: base }',
    );
    return ctx;
  }

  const cases: [string, () => RawEntry[], string][] = [
    ['a name that climbs out', () => [file('../../etc/passwd')], 'E_LAYER_ENTRY_NAME'],
    ['an absolute name', () => [file('/etc/passwd')], 'E_LAYER_ENTRY_NAME'],
    ['a malformed whiteout', () => [file('etc/.wh..wh.plnk')], 'E_LAYER_ENTRY_NAME'],
    [
      'a duplicate entry',
      () => [file('etc/passwd'), file('etc/passwd', 'y')],
      'E_LAYER_DUPLICATE_ENTRY',
    ],
    [
      'a hard link out of the layer',
      () => [{ name: 'etc/shadow', type: 'link', linkname: '../../../etc/shadow' }],
      'E_LAYER_HARDLINK_ESCAPE',
    ],
    [
      'a hard link to a file of no layer',
      () => [{ name: 'etc/shadow', type: 'link', linkname: 'etc/not-here' }],
      'E_LAYER_HARDLINK_ESCAPE',
    ],
    [
      'a write through a symlink',
      () => [{ name: 'lib', type: 'symlink', linkname: '/usr/lib' }, file('lib/evil.so')],
      'E_LAYER_THROUGH_SYMLINK',
    ],
    [
      'a device node outside /dev',
      () => [{ name: 'opt/sda', type: 'block-device', devmajor: 8, devminor: 0 }],
      'E_LAYER_SPECIAL_FILE',
    ],
    [
      'a device node named like /dev but elsewhere',
      () => [
        { name: 'devices', type: 'directory' },
        { name: 'devices/null', type: 'character-device', devmajor: 1, devminor: 3 },
      ],
      'E_LAYER_SPECIAL_FILE',
    ],
    [
      'a device node at /dev itself',
      () => [{ name: 'dev', type: 'character-device', devmajor: 1, devminor: 3 }],
      'E_LAYER_SPECIAL_FILE',
    ],
    ['a FIFO', () => [{ name: 'run/pipe', type: 'fifo' }], 'E_LAYER_SPECIAL_FILE'],
    [
      'a FIFO even under /dev',
      () => [{ name: 'dev/initctl', type: 'fifo' }],
      'E_LAYER_SPECIAL_FILE',
    ],
  ];
  for (const [what, entries, code] of cases) {
    it(`refuses a layer with ${what}: ${code}`, async () => {
      expect(await refused(withBase([{ tar: await rawTar(entries()) }]))).toBe(code);
    });
  }

  it('refuses blobs whose size, content or diff_id do not match what the manifest says', async () => {
    const good = await rawTar([file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n')]);
    expect(await refused(withBase([{ tar: good, claimSize: 10 }]))).toBe('E_BLOB_SIZE_MISMATCH');
    expect(await refused(withBase([{ tar: good, claimDiffId: `sha256:${'0'.repeat(64)}` }]))).toBe(
      'E_LAYER_DIFF_ID',
    );
    const corrupt = withBase([{ tar: good }], {
      layout: (dir) => {
        const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
          manifests: { digest: string }[];
        };
        const manifest = JSON.parse(
          readFileSync(join(dir, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8'),
        ) as { layers: { digest: string }[] };
        const path = join(dir, 'blobs/sha256', manifest.layers[0]!.digest.slice(7));
        const bytes = readFileSync(path);
        bytes[bytes.length - 9] = bytes[bytes.length - 9]! ^ 1; // inside the gzip trailer's CRC
        writeFileSync(path, bytes);
      },
    });
    expect(await refused(corrupt)).toBe('E_BLOB_CORRUPT');
  });

  it('refuses a truncated archive and a broken gzip stream', async () => {
    const whole = await rawTar([file('big', 'z'.repeat(5000))]);
    const cut = whole.subarray(0, 2048);
    expect(await refused(withBase([{ tar: cut, blobOverride: gzipSync(cut) }]))).toBe(
      'E_LAYER_SIZE_MISMATCH',
    );
    const garbage = Buffer.concat([gzipSync(whole).subarray(0, 30), Buffer.alloc(64, 0x55)]);
    expect(await refused(withBase([{ tar: whole, blobOverride: garbage }]))).toBe(
      'E_LAYER_CORRUPT',
    );
  });

  it('refuses decompression bombs: by ratio with the defaults, and by size past a configured bound', async () => {
    const zeros = await rawTar([
      { name: 'zeros', type: 'file', content: Buffer.alloc(96 * 1024 * 1024) },
    ]);
    expect(await refused(withBase([{ tar: zeros }]))).toBe('E_LAYER_BOMB');
    const small = await rawTar([file('a', 'a'.repeat(4096))]);
    expect(
      await refused(withBase([{ tar: small }]), {
        limits: { maxBytes: 1024, maxEntries: 10, maxRatio: 250, ratioAfter: 1 << 30 },
      }),
    ).toBe('E_LAYER_BOMB');
  });

  it('refuses a missing tag, a moved pin, another platform and unknown layer types', async () => {
    const tar = await rawTar([file('etc/hostname', 'base\n')]);
    expect(await refused(withBase([{ tar }], { from: '{ layout: ../base, tag: nope }' }))).toBe(
      'E_BASE_TAG_NOT_FOUND',
    );
    expect(
      await refused(
        withBase([{ tar }], {
          from: `{ layout: ../base, tag: base, digest: "sha256:${'1'.repeat(64)}" }`,
        }),
      ),
    ).toBe('E_BASE_DIGEST_MISMATCH');
    expect(await refused(withBase([{ tar }], { from: '{ layout: ../missing, tag: base }' }))).toBe(
      'E_BASE_NOT_FOUND',
    );
    const arm = withBase([{ tar }], { architecture: 'arm64' });
    writeFileSync(
      join(arm, 'ingot.yaml'),
      readFileSync(join(arm, 'ingot.yaml'), 'utf8').replace(
        'from:',
        'platform: linux/amd64\nfrom:',
      ),
    );
    expect(await refused(arm)).toBe('E_BASE_PLATFORM');
    const foreign = withBase([{ tar }], {
      layout: (dir) => {
        const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
          manifests: { digest: string; size: number }[];
        };
        const path = join(dir, 'blobs/sha256', index.manifests[0]!.digest.slice(7));
        const manifest = readFileSync(path, 'utf8').replace(
          'application/vnd.oci.image.layer.v1.tar+gzip',
          'application/vnd.oci.image.layer.v1.tar+encrypted',
        );
        const digest = writeLayoutBlob(dir, manifest);
        index.manifests[0]!.digest = digest;
        index.manifests[0]!.size = Buffer.byteLength(manifest);
        writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
      },
    });
    expect(await refused(foreign)).toBe('E_LAYER_MEDIA_TYPE');
  });

  it('accepts a clean base, applies its whiteouts and records its digest', async () => {
    const layer1 = await rawTar([
      { name: 'etc', type: 'directory' },
      file('etc/a'),
      file('etc/b'),
      { name: 'opt', type: 'directory' },
      file('opt/x'),
      { name: 'etc/hard', type: 'link', linkname: 'etc/a' },
    ]);
    const layer2 = await rawTar([
      file('etc/.wh.b', ''),
      file('opt/.wh..wh..opq', ''),
      file('opt/y'),
    ]);
    const ctx = withBase([{ tar: layer1 }, { tar: layer2 }]);
    const result = await buildWith(home, ctx);
    const entries = await readMeasurement(await openStore(home), result.digest);
    // /dev, /proc and /sys: the runtime's mount points, which every image carries.
    expect(entries.map((e) => e.path)).toEqual([
      '/dev',
      '/etc',
      '/etc/a',
      '/etc/hard',
      '/opt',
      '/opt/f',
      '/opt/y',
      '/proc',
      '/sys',
    ]);
    expect(entries.find((e) => e.path === '/etc/hard')).toMatchObject({
      type: 'file',
      hardlink: '/etc/a',
    });
    expect(result.base?.digest).toMatch(/^sha256:/);
  });
});

describe('real base images: device nodes under /dev', () => {
  it('drops them, lists them in the signed measurement, and materialises without them', async () => {
    const root = tmp();
    const dev = (
      name: string,
      type: 'character-device' | 'block-device',
      major: number,
      minor: number,
    ): RawEntry => ({
      name,
      type,
      mode: 0o666,
      devmajor: major,
      devminor: minor,
    });
    // What debootstrap and mmdebstrap leave in /dev.
    const layer = await rawTar([
      { name: 'dev/', type: 'directory', mode: 0o755 },
      dev('dev/console', 'character-device', 5, 1),
      { name: 'dev/fd', type: 'symlink', linkname: '/proc/self/fd' },
      dev('dev/null', 'character-device', 1, 3),
      { name: 'dev/pts/', type: 'directory', mode: 0o755 },
      dev('dev/loop0', 'block-device', 7, 0),
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/hostname', type: 'file', content: Buffer.from('debian\n') },
    ]);
    writeLayout(join(root, 'base'), [{ tar: layer }]);
    writeTree(join(root, 'ctx'), { f: 'f' });
    baseline(
      join(root, 'ctx'),
      '  - { source: f, destination: /opt/f }\n',
      '{ layout: ../base, tag: base }',
    );
    const result = await buildWith(home, join(root, 'ctx'));
    expect(result.base?.dropped).toEqual([
      { path: '/dev/console', type: 'character-device' },
      { path: '/dev/null', type: 'character-device' },
      { path: '/dev/loop0', type: 'block-device' },
    ]);
    const store = await openStore(home);
    const artifact = await openArtifact(store, result.digest);
    const doc = JSON.parse(artifact.measurement.bytes.toString('utf8')) as {
      dropped: { path: string; type: string; layer: string }[];
    };
    expect(doc.dropped.map((d) => d.path)).toEqual(['/dev/console', '/dev/null', '/dev/loop0']);
    expect(doc.dropped.every((d) => d.layer === artifact.manifest.layers[0]!.digest)).toBe(true);
    const paths = artifact.measurement.entries.map((e) => e.path);
    expect(paths.filter((p) => p.startsWith('/dev'))).toEqual(['/dev', '/dev/fd', '/dev/pts']);

    // The same rule when a host unpacks the artifact: the layers flatten to the signed
    // measurement (dropped list included), and no device node reaches the host.
    const made = await materialiseRootfs({
      cacheDir: join(home, 'rootfs'),
      storeRoot: storeDir(home),
      image: result.digest,
      layers: artifact.manifest.layers,
      diffIds: artifact.config.rootfs.diff_ids,
      measurement: artifact.measurement,
      mountPoints: ['/proc', '/dev', '/sys'],
    });
    expect(readdirSync(join(made.rootfs, 'dev')).sort()).toEqual(['fd', 'pts']);
    expect(readFileSync(join(made.rootfs, 'etc/hostname'), 'utf8')).toBe('debian\n');

    // A rebuild gives the same measurement (and so the same signed digest).
    const again = await buildWith(home, join(root, 'ctx'));
    expect(again.measurement.digest).toBe(result.measurement.digest);
  });
});

function writeLayoutBlob(dir: string, text: string): string {
  const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
  writeFileSync(join(dir, 'blobs/sha256', digest.slice(7)), text);
  return digest;
}
