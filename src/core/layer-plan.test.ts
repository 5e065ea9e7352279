import { describe, expect, it } from 'vitest';
import type { LayerSpec } from '../domain/baseline.js';
import type { SourceItem, SourceListing } from '../domain/source.js';
import { planLayer } from './layer-plan.js';
import { RootfsTree } from './rootfs-tree.js';
import { isIngotError } from '../domain/errors.js';

const spec = (over: Partial<LayerSpec> = {}): LayerSpec => ({
  source: 'src',
  destination: '/srv/www',
  intoDirectory: false,
  uid: 0,
  gid: 0,
  exclude: [],
  followSymlinks: false,
  setuid: false,
  ...over,
});
const f = (rel: string, mode = 0o664, size = 3): SourceItem => ({
  rel,
  kind: 'file',
  mode,
  file: { abs: `/x/${rel}`, size, dev: 1, ino: 1, mtimeMs: 0, ctimeMs: 0 },
});
const d = (rel: string, mode = 0o775): SourceItem => ({ rel, kind: 'dir', mode });
const dirListing = (items: SourceItem[]): SourceListing => ({
  rootKind: 'dir',
  rootName: 'src',
  items: [d(''), ...items],
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isIngotError(err)) return err.code;
    throw err;
  }
  return 'no error';
}

describe('planLayer', () => {
  it('normalises modes whatever the umask was, creates missing parents, sorts in tree order', () => {
    const plan = planLayer(
      spec(),
      dirListing([f('b.txt', 0o664), f('a/run.sh', 0o775), d('a', 0o700)]),
      new RootfsTree(),
      7,
    );
    expect(
      plan.map((e) => [e.header.name, e.header.type, e.header.mode.toString(8), e.header.mtime]),
    ).toEqual([
      ['srv', 'dir', '755', 7],
      ['srv/www', 'dir', '755', 7],
      ['srv/www/a', 'dir', '755', 7],
      ['srv/www/a/run.sh', 'file', '755', 7],
      ['srv/www/b.txt', 'file', '644', 7],
    ]);
  });

  it('applies mode, dirMode and owner overrides', () => {
    const plan = planLayer(
      spec({ mode: 0o600, dirMode: 0o700, uid: 5, gid: 6 }),
      dirListing([f('k', 0o755), d('sub')]),
      new RootfsTree(),
      0,
    );
    const byName = Object.fromEntries(plan.map((e) => [e.header.name, e.header]));
    expect(byName['srv/www/k']).toMatchObject({ mode: 0o600, uid: 5, gid: 6 });
    expect(byName['srv/www/sub']).toMatchObject({ mode: 0o700, uid: 5, gid: 6 });
    expect(byName['srv/www']).toMatchObject({ mode: 0o700, uid: 5 });
    expect(byName['srv']).toMatchObject({ mode: 0o755, uid: 0 });
  });

  it('leaves existing directories of lower layers alone', () => {
    const tree = new RootfsTree();
    tree.put({ path: '/srv', type: 'dir', mode: 0o711, uid: 0, gid: 0, size: 0 });
    const plan = planLayer(spec(), dirListing([f('x')]), tree, 0);
    expect(plan.map((e) => e.header.name)).toEqual(['srv/www', 'srv/www/x']);
  });

  it('places a single file at the destination, or into it with a trailing slash', () => {
    const file: SourceListing = { rootKind: 'file', rootName: 'busybox', items: [f('', 0o755)] };
    expect(
      planLayer(spec({ destination: '/bin/busybox' }), file, new RootfsTree(), 0).map(
        (e) => e.header.name,
      ),
    ).toEqual(['bin', 'bin/busybox']);
    expect(
      planLayer(spec({ destination: '/bin', intoDirectory: true }), file, new RootfsTree(), 0).map(
        (e) => e.header.name,
      ),
    ).toEqual(['bin', 'bin/busybox']);
    expect(
      planLayer(spec({ destination: '/' }), file, new RootfsTree(), 0).map((e) => e.header.name),
    ).toEqual(['busybox']);
  });

  it('refuses undeclared setuid/setgid bits and keeps declared ones', () => {
    expect(
      codeOf(() => planLayer(spec(), dirListing([f('su', 0o4755)]), new RootfsTree(), 0)),
    ).toBe('E_SOURCE_SETUID');
    expect(
      codeOf(() => planLayer(spec(), dirListing([f('sg', 0o2755)]), new RootfsTree(), 0)),
    ).toBe('E_SOURCE_SETUID');
    const plan = planLayer(
      spec({ setuid: true }),
      dirListing([f('su', 0o4755)]),
      new RootfsTree(),
      0,
    );
    expect(plan.find((e) => e.header.name === 'srv/www/su')?.header.mode).toBe(0o4755);
  });

  it('refuses to write through a lower symlink or to change the type of a lower path', () => {
    const tree = new RootfsTree();
    tree.put({
      path: '/lib',
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      size: 0,
      target: 'usr/lib',
    });
    tree.put({ path: '/etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
    expect(
      codeOf(() => planLayer(spec({ destination: '/lib/x' }), dirListing([f('y')]), tree, 0)),
    ).toBe('E_DEST_THROUGH_SYMLINK');
    const file: SourceListing = { rootKind: 'file', rootName: 'etc', items: [f('')] };
    expect(codeOf(() => planLayer(spec({ destination: '/etc' }), file, tree, 0))).toBe(
      'E_DEST_CONFLICT',
    );
  });
});
