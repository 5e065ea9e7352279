import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lchownSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { hashPinned } from '../src/adapters/integrity/hash-pinned.js';
import { PinnedWalk } from '../src/adapters/integrity/pinned-walk.js';
import { createVerifier, verifyTree } from '../src/adapters/integrity/verify-tree.js';
import { scanTree } from '../src/adapters/rootfs/scan.js';
import { diffTree, type Drift } from '../src/core/integrity/diff.js';
import { isIngotError } from '../src/domain/errors.js';
import type { MeasuredEntry } from '../src/domain/measurement.js';
import { useTempDirs, writeTree, type TreeSpec } from './helpers/fs.js';

const tmp = useTempDirs();
const REPO = fileURLToPath(new URL('..', import.meta.url));

// One verifier for the whole file, as a periodic check would use it.
const verifier = createVerifier({ workers: 2 });
afterAll(() => verifier.close());

/** The measurement of a tree as it is now (all owned by root, as a materialised rootfs). */
function measure(root: string): MeasuredEntry[] {
  return [...scanTree(root)].map(([path, o]) => {
    if (o.type === 'other') throw new Error(`${path}: a measurement has no special files`);
    return { path, ...o, type: o.type };
  });
}

/** The parallel verification, held to the sequential one on the same tree. */
async function check(
  root: string,
  measurement: readonly MeasuredEntry[],
  allowed?: ReadonlySet<string>,
): Promise<Drift[]> {
  const parallel = await verifier.verify(root, measurement, allowed ? { allowed } : {});
  expect(parallel).toEqual(diffTree(measurement, scanTree(root), allowed));
  return parallel;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isIngotError(err)) return err.code;
    throw err;
  }
  return 'resolved';
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** A small rootfs: files of several sizes (one spans several read chunks), links, folders. */
const BASE: TreeSpec = {
  'bin/sh': { content: '#!/bin/busybox\n', mode: 0o755 },
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
  'etc/hosts': '127.0.0.1 localhost\n',
  'etc/shadow': { content: 'root:*:19000:0:99999:7:::\n', mode: 0o640 },
  'etc/alt': { symlink: 'passwd' },
  'usr/lib/libbig.so': Buffer.alloc(2_500_000 + 3, 7),
  'usr/share/empty': '',
  'var/empty': { dir: true, mode: 0o700 },
  tmp: { dir: true, mode: 0o1777 },
};

function base(): { root: string; measurement: MeasuredEntry[] } {
  const root = join(tmp(), 'rootfs');
  mkdirSync(root);
  writeTree(root, BASE);
  return { root, measurement: measure(root) };
}

describe('verifyTree: an untouched tree', () => {
  it('finds nothing in an empty tree, a one-file tree and the base tree', async () => {
    const empty = join(tmp(), 'empty');
    mkdirSync(empty);
    expect(await check(empty, [])).toEqual([]);
    expect(await verifyTree(empty, [], { workers: 1 })).toEqual([]);

    const one = join(tmp(), 'one');
    writeTree(one, { 'hello.txt': 'hello\n' });
    const m = measure(one);
    expect(m).toEqual([
      {
        path: '/hello.txt',
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 6,
        sha256: sha256('hello\n'),
      },
    ]);
    expect(await check(one, m)).toEqual([]);

    const { root, measurement } = base();
    expect(await check(root, measurement)).toEqual([]);
  });

  it('reports every measured path as removed from an empty folder, in measurement order', async () => {
    const { measurement } = base();
    const empty = join(tmp(), 'empty');
    mkdirSync(empty);
    const drift = await check(empty, measurement);
    expect(drift).toEqual(
      measurement.map((e) => ({ kind: 'removed', path: e.path, expected: e.type })),
    );
  });
});

describe('verifyTree: each tampering is found', () => {
  it('content changed, same size', async () => {
    const { root, measurement } = base();
    writeFileSync(join(root, 'etc/passwd'), 'ROOT:x:0:0:root:/root:/bin/sh\n');
    expect(await check(root, measurement)).toEqual([
      {
        kind: 'changed',
        path: '/etc/passwd',
        field: 'sha256',
        expected: sha256('root:x:0:0:root:/root:/bin/sh\n'),
        actual: sha256('ROOT:x:0:0:root:/root:/bin/sh\n'),
      },
    ]);
  });

  it('content changed in the last byte of a file larger than a read chunk', async () => {
    const { root, measurement } = base();
    const big = Buffer.alloc(2_500_000 + 3, 7);
    big[big.length - 1] = 8;
    writeFileSync(join(root, 'usr/lib/libbig.so'), big);
    expect(await check(root, measurement)).toMatchObject([
      { kind: 'changed', path: '/usr/lib/libbig.so', field: 'sha256', actual: sha256(big) },
    ]);
  });

  it('mode changed, of a file and of a folder', async () => {
    const { root, measurement } = base();
    chmodSync(join(root, 'bin/sh'), 0o4755);
    chmodSync(join(root, 'var/empty'), 0o755);
    expect(await check(root, measurement)).toEqual([
      { kind: 'changed', path: '/bin/sh', field: 'mode', expected: '0755', actual: '04755' },
      { kind: 'changed', path: '/var/empty', field: 'mode', expected: '0700', actual: '0755' },
    ]);
  });

  it('owner changed (file and symlink)', async () => {
    const { root, measurement } = base();
    lchownSync(join(root, 'etc/shadow'), 1000, 1001);
    lchownSync(join(root, 'etc/alt'), 7, 0);
    expect(await check(root, measurement)).toEqual([
      { kind: 'changed', path: '/etc/alt', field: 'uid', expected: '0', actual: '7' },
      { kind: 'changed', path: '/etc/shadow', field: 'uid', expected: '0', actual: '1000' },
      { kind: 'changed', path: '/etc/shadow', field: 'gid', expected: '0', actual: '1001' },
    ]);
  });

  it('file added, file removed', async () => {
    const { root, measurement } = base();
    writeFileSync(join(root, 'etc/ld.so.preload'), '/tmp/evil.so\n');
    unlinkSync(join(root, 'etc/hosts'));
    expect(await check(root, measurement)).toEqual([
      { kind: 'removed', path: '/etc/hosts', expected: 'file' },
      { kind: 'added', path: '/etc/ld.so.preload', actual: 'file' },
    ]);
  });

  it('file replaced by a symlink to a host file, which is never read', async () => {
    const { root, measurement } = base();
    const host = join(tmp(), 'host-secret');
    writeFileSync(host, 'secret');
    unlinkSync(join(root, 'etc/shadow'));
    symlinkSync(host, join(root, 'etc/shadow'));
    expect(await check(root, measurement)).toEqual([
      { kind: 'changed', path: '/etc/shadow', field: 'type', expected: 'file', actual: 'symlink' },
    ]);
  });

  it('file replaced by a FIFO: reported as "other", never opened (no hang)', async () => {
    const { root, measurement } = base();
    unlinkSync(join(root, 'bin/sh'));
    execFileSync('mkfifo', ['-m', '0755', join(root, 'bin/sh')]);
    expect(await check(root, measurement)).toEqual([
      { kind: 'changed', path: '/bin/sh', field: 'type', expected: 'file', actual: 'other' },
    ]);
  });

  it('symlink retargeted; folder replaced by a symlink to the host, which is not walked', async () => {
    const { root, measurement } = base();
    unlinkSync(join(root, 'etc/alt'));
    symlinkSync('shadow', join(root, 'etc/alt'));
    rmSync(join(root, 'usr'), { recursive: true });
    symlinkSync('/', join(root, 'usr'));
    const drift = await check(root, measurement);
    expect(drift).toEqual([
      { kind: 'changed', path: '/etc/alt', field: 'target', expected: 'passwd', actual: 'shadow' },
      { kind: 'changed', path: '/usr', field: 'type', expected: 'dir', actual: 'symlink' },
      { kind: 'removed', path: '/usr/lib', expected: 'dir' },
      { kind: 'removed', path: '/usr/lib/libbig.so', expected: 'file' },
      { kind: 'removed', path: '/usr/share', expected: 'dir' },
      { kind: 'removed', path: '/usr/share/empty', expected: 'file' },
    ]);
  });

  it('host mount points are allowed only as folders, and only those named', async () => {
    const { root, measurement } = base();
    mkdirSync(join(root, 'proc'));
    mkdirSync(join(root, 'sys'));
    writeFileSync(join(root, 'dev'), '');
    const allowed = new Set(['/proc', '/dev']);
    expect(await check(root, measurement, allowed)).toEqual([
      { kind: 'added', path: '/dev', actual: 'file' },
      { kind: 'added', path: '/sys', actual: 'dir' },
    ]);
  });

  it('a name that is not UTF-8 is reported, not skipped', async () => {
    const { root, measurement } = base();
    const name = Buffer.concat([Buffer.from(join(root, 'etc/')), Buffer.from([0x6b, 0xff, 0x2e])]);
    writeFileSync(name, 'hidden?');
    expect(await verifier.verify(root, measurement)).toEqual([
      { kind: 'added', path: '/etc/k\ufffd.//bytes:6bff2e', actual: 'file' },
    ]);
  });
});

describe('verifyTree: a 5,000-file tree', () => {
  it('equals the sequential check, untouched and after many changes', async () => {
    const root = join(tmp(), 'rootfs');
    const spec: TreeSpec = {};
    for (let i = 0; i < 5_000; i++)
      spec[`d${i % 50}/s${i % 7}/f${i}.dat`] = Buffer.alloc(((i * 7919) % 9000) + 1, i % 251);
    writeTree(root, spec);
    const measurement = measure(root);
    expect(measurement.filter((e) => e.type === 'file')).toHaveLength(5_000);
    expect(await check(root, measurement)).toEqual([]);

    writeFileSync(join(root, 'd3/s3/f3.dat'), Buffer.alloc(((3 * 7919) % 9000) + 1, 4));
    chmodSync(join(root, 'd10/s3/f10.dat'), 0o600);
    lchownSync(join(root, 'd11/s4/f11.dat'), 5, 5);
    unlinkSync(join(root, 'd12/s5/f12.dat'));
    writeFileSync(join(root, 'd49/s0/new.dat'), 'new');
    renameSync(join(root, 'd20'), join(root, 'd20-moved'));
    const drift = await check(root, measurement);
    expect(drift.filter((d) => d.kind === 'changed').map((d) => [d.path, d.field])).toEqual([
      ['/d10/s3/f10.dat', 'mode'],
      ['/d11/s4/f11.dat', 'uid'],
      ['/d11/s4/f11.dat', 'gid'],
      ['/d3/s3/f3.dat', 'sha256'],
    ]);
    expect(drift.filter((d) => d.kind === 'removed')).toHaveLength(1 + 1 + 7 + 100);
    expect(drift.filter((d) => d.kind === 'added')).toHaveLength(1 + 1 + 7 + 100);
  });
});

describe('verifyTree: random changes', () => {
  it('always equals the sequential check', async () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('write' as const), i: fc.nat(9), data: fc.string() }),
      fc.record({ op: fc.constant('chmod' as const), i: fc.nat(9), mode: fc.nat(0o7777) }),
      fc.record({ op: fc.constant('chown' as const), i: fc.nat(9), uid: fc.nat(3) }),
      fc.record({ op: fc.constant('unlink' as const), i: fc.nat(9) }),
      fc.record({
        op: fc.constant('symlink' as const),
        i: fc.nat(9),
        target: fc.stringMatching(/^[a-z./]{1,12}$/),
      }),
      fc.record({ op: fc.constant('fifo' as const), i: fc.nat(9) }),
      fc.record({ op: fc.constant('mkdir' as const), i: fc.nat(9) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 6 }), async (ops) => {
        const root = join(tmp(), 'rootfs');
        const spec: TreeSpec = {};
        for (let i = 0; i < 10; i++) spec[`${i % 3}/f${i}`] = `file ${i}\n`;
        writeTree(root, spec);
        const measurement = measure(root);
        for (const o of ops) {
          const path = join(root, `${o.i % 3}/f${o.i}`);
          rmSync(path, { recursive: true, force: true });
          switch (o.op) {
            case 'write':
              writeFileSync(path, o.data);
              break;
            case 'chmod':
              writeFileSync(path, `file ${o.i}\n`);
              chmodSync(path, o.mode);
              break;
            case 'chown':
              writeFileSync(path, `file ${o.i}\n`);
              lchownSync(path, o.uid, 0);
              break;
            case 'unlink':
              break;
            case 'symlink':
              symlinkSync(o.target, path);
              break;
            case 'fifo':
              execFileSync('mkfifo', [path]);
              break;
            case 'mkdir':
              mkdirSync(join(path, 'sub'), { recursive: true });
              break;
          }
        }
        await check(root, measurement);
        rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 30 },
    );
  });
});

describe('verifyTree: errors and lifecycle', () => {
  it('says when the root is missing, the verifier is closed, or the check was stopped', async () => {
    expect(await code(verifier.verify(join(tmp(), 'nothing'), []))).toBe('E_ROOTFS_VERIFY_ROOT');

    const closed = createVerifier({ workers: 1 });
    await closed.close();
    const { root, measurement } = base();
    expect(await code(closed.verify(root, measurement))).toBe('E_ROOTFS_VERIFY_CLOSED');

    const before = new AbortController();
    before.abort();
    const stopped = verifier.verify(root, measurement, { signal: before.signal });
    expect(await code(stopped)).toBe('E_ROOTFS_VERIFY_ABORTED');

    // Stopped while files are being hashed; the verifier still works afterwards.
    const many = join(tmp(), 'many');
    const spec: TreeSpec = {};
    for (let i = 0; i < 3_000; i++) spec[`d${i % 10}/f${i}`] = `${i}`;
    writeTree(many, spec);
    const during = new AbortController();
    const running = verifier.verify(many, [], { signal: during.signal });
    during.abort();
    expect(await code(running)).toBe('E_ROOTFS_VERIFY_ABORTED');
    expect(await check(root, measurement)).toEqual([]);
  });

  it('ends idle workers when asked to, and starts them again for the next check', async () => {
    const { root, measurement } = base();
    const idle = createVerifier({ workers: 1, idleMs: 20 });
    try {
      expect(await idle.verify(root, measurement)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      chmodSync(join(root, 'etc/hosts'), 0o600);
      expect(await idle.verify(root, measurement)).toMatchObject([
        { kind: 'changed', path: '/etc/hosts', field: 'mode' },
      ]);
    } finally {
      await idle.close();
    }
  });

  it('runs verifications side by side on one verifier', async () => {
    const a = base();
    const b = base();
    writeFileSync(join(b.root, 'etc/hosts'), '10.0.0.1 evil\n');
    const [da, db] = await Promise.all([
      verifier.verify(a.root, a.measurement),
      verifier.verify(b.root, b.measurement),
    ]);
    expect(da).toEqual([]);
    expect(db.map((d) => [d.kind, d.path])).toEqual([
      ['changed', '/etc/hosts'],
      ['changed', '/etc/hosts'],
    ]);
  });
});

describe('PinnedWalk: paths that change between listing and hashing', () => {
  it('looks again at a file gone or replaced, and records what is there now', () => {
    const { root, measurement } = base();
    const walk = new PinnedWalk(root);
    const batch = walk.next(1_000, 100);
    expect(walk.done).toBe(true);
    // Between the listing and the workers: one file becomes a symlink to a host file,
    // one a FIFO, one another file (a new inode), one is deleted, one becomes a folder.
    const host = join(tmp(), 'host');
    writeFileSync(host, 'host secret');
    const at = (p: string) => join(root, p);
    unlinkSync(at('etc/shadow'));
    symlinkSync(host, at('etc/shadow'));
    unlinkSync(at('bin/sh'));
    execFileSync('mkfifo', [at('bin/sh')]);
    unlinkSync(at('etc/passwd'));
    writeFileSync(at('etc/passwd'), 'new passwd\n');
    unlinkSync(at('etc/hosts'));
    unlinkSync(at('usr/share/empty'));
    mkdirSync(at('usr/share/empty'));
    writeFileSync(at('usr/share/empty/inside'), 'x');
    const buffer = Buffer.alloc(1 << 16);
    for (const task of batch) walk.settle(task, hashPinned(task.pinned, buffer));
    expect(walk.done).toBe(false); // the new folder is walked too
    for (const task of walk.next(1_000, 100)) walk.settle(task, hashPinned(task.pinned, buffer));
    expect(walk.complete).toBe(true);
    walk.close();
    expect(diffTree(measurement, walk.observed)).toEqual(diffTree(measurement, scanTree(root)));
    expect(walk.observed.get('/etc/shadow')).toMatchObject({ type: 'symlink', target: host });
    expect(walk.observed.get('/bin/sh')).toMatchObject({ type: 'other' });
    expect(walk.observed.get('/etc/passwd')).toMatchObject({ sha256: sha256('new passwd\n') });
    expect(walk.observed.has('/etc/hosts')).toBe(false);
    expect(walk.observed.get('/usr/share/empty')).toMatchObject({ type: 'dir' });
    expect(walk.observed.get('/usr/share/empty/inside')).toMatchObject({ sha256: sha256('x') });
  });
});

describe('hashPinned (what a worker does with one file)', () => {
  it('hashes a regular file and reports what its descriptor says', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'f'), 'abc', { mode: 0o640 });
    chmodSync(join(dir, 'f'), 0o640);
    expect(hashPinned(join(dir, 'f'), Buffer.alloc(2))).toEqual({
      kind: 'hashed',
      digest: createHash('sha256').update('abc').digest(),
      mode: 0o640,
      uid: 0,
      gid: 0,
      size: 3,
    });
  });

  it('never reads through a symlink, never blocks on a FIFO, and notices a file gone', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'target'), 'host');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    mkdirSync(join(dir, 'dir'));
    const buffer = Buffer.alloc(16);
    expect(hashPinned(join(dir, 'link'), buffer)).toEqual({ kind: 'raced' });
    expect(hashPinned(join(dir, 'fifo'), buffer)).toEqual({ kind: 'raced' });
    expect(hashPinned(join(dir, 'dir'), buffer)).toEqual({ kind: 'raced' });
    expect(hashPinned(join(dir, 'none'), buffer)).toEqual({ kind: 'gone' });
  });
});

describe('the compiled verifier (what `node dist/...` runs)', () => {
  it('finds its worker as hash-worker.js, and idle workers do not keep the process alive', () => {
    const out = tmp();
    // Compile the verifier alone, with the build's settings, into a folder of its own.
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({
        extends: join(REPO, 'tsconfig.build.json'),
        compilerOptions: {
          rootDir: join(REPO, 'src'),
          outDir: join(out, 'dist'),
          typeRoots: [join(REPO, 'node_modules', '@types')],
          sourceMap: false,
        },
        include: [],
        files: [
          join(REPO, 'src/adapters/integrity/verify-tree.ts'),
          join(REPO, 'src/adapters/integrity/hash-worker.ts'),
        ],
      }),
    );
    writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', out], {
      stdio: 'pipe',
    });

    const { root, measurement } = base();
    writeFileSync(join(root, 'etc/hosts'), '127.0.0.2 localhost\n');
    writeFileSync(join(out, 'measurement.json'), JSON.stringify(measurement));
    const module = pathToFileURL(join(out, 'dist/adapters/integrity/verify-tree.js')).href;
    // No close(): the process must still end once the check is done.
    const script = `
      import { readFileSync } from 'node:fs';
      import { createVerifier, verifyTree } from ${JSON.stringify(module)};
      const measurement = JSON.parse(readFileSync(process.argv[2], 'utf8'));
      const once = await verifyTree(process.argv[3], measurement);
      const kept = await createVerifier().verify(process.argv[3], measurement);
      console.log(JSON.stringify({ once, kept }));`;
    writeFileSync(join(out, 'check.js'), script);
    const r = spawnSync(
      process.execPath,
      [join(out, 'check.js'), join(out, 'measurement.json'), root],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const drift = [{ kind: 'changed', path: '/etc/hosts', field: 'sha256' }];
    const { once, kept } = JSON.parse(r.stdout) as { once: Drift[]; kept: Drift[] };
    expect(once).toMatchObject(drift);
    expect(kept).toMatchObject(drift);
    expect(readFileSync(join(out, 'dist/adapters/integrity/hash-worker.js'), 'utf8')).toContain(
      'parentPort',
    );
  });
});
