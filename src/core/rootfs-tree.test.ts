import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeasuredEntry } from '../domain/measurement.js';
import { applyLayer, type LayerChanges } from './apply-layer.js';
import { RootfsTree } from './rootfs-tree.js';
import { classifyEntry } from './whiteout.js';

const dir = (path: string, mode = 0o755): MeasuredEntry => ({
  path,
  type: 'dir',
  mode,
  uid: 0,
  gid: 0,
  size: 0,
});
const file = (path: string, sha256 = 'aa'): MeasuredEntry => ({
  path,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 1,
  sha256,
});
const link = (path: string, target: string): MeasuredEntry => ({
  path,
  type: 'symlink',
  mode: 0o777,
  uid: 0,
  gid: 0,
  size: 0,
  target,
});

const paths = (t: RootfsTree): string[] => t.entries().map((e) => e.entry.path);

/** Random layer sequences over a tiny namespace, so that paths collide often. */
const anyPath = fc
  .array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 })
  .map((s) => '/' + s.join('/'));
const anyEntry = fc
  .tuple(anyPath, fc.constantFrom('file', 'dir', 'symlink'))
  .map(([path, kind]) =>
    kind === 'file' ? file(path) : kind === 'dir' ? dir(path) : link(path, 'x'),
  );
const anyLayers = fc.array(
  fc.record({
    whiteouts: fc.array(anyPath, { maxLength: 2 }),
    opaques: fc.array(anyPath, { maxLength: 1 }),
    entries: fc.array(
      anyEntry.map((e) => ({ entry: e })),
      { maxLength: 6 },
    ),
  }),
  { minLength: 1, maxLength: 4 },
);

describe('RootfsTree', () => {
  it('creates implicit parents and keeps children when a directory is re-declared', () => {
    const t = new RootfsTree();
    t.put(file('/a/b/c'));
    expect(paths(t)).toEqual(['/a', '/a/b', '/a/b/c']);
    expect(t.get('/a')?.entry.mode).toBe(0o755);
    t.put(dir('/a', 0o700));
    expect(paths(t)).toEqual(['/a', '/a/b', '/a/b/c']);
    expect(t.get('/a')?.entry.mode).toBe(0o700);
  });

  it('replaces a directory by a file together with its subtree', () => {
    const t = new RootfsTree();
    t.put(file('/a/b/c'));
    t.put(file('/a'));
    expect(paths(t)).toEqual(['/a']);
  });

  it('refuses to write through a symlink or under a file', () => {
    const t = new RootfsTree();
    t.put(link('/lib', 'usr/lib'));
    t.put(file('/f'));
    expect(t.put(file('/lib/evil'))).toEqual({ path: '/lib', problem: 'parent-is-symlink' });
    expect(t.put(file('/f/x'))).toEqual({ path: '/f', problem: 'parent-not-dir' });
  });

  it('applies whiteouts to lower layers only, and opaque directories keep their own new children', () => {
    const t = new RootfsTree();
    applyLayer(t, {
      whiteouts: [],
      opaques: [],
      entries: [dir('/a'), dir('/a/b'), file('/a/b/bar'), file('/keep')].map((entry) => ({
        entry,
      })),
    });
    applyLayer(t, {
      whiteouts: ['/keep'],
      opaques: ['/a'],
      entries: [dir('/a/b'), file('/a/b/foo'), file('/keep', 'bb')].map((entry) => ({ entry })),
    });
    expect(paths(t)).toEqual(['/a', '/a/b', '/a/b/foo', '/keep']);
    expect(t.get('/keep')?.entry.sha256).toBe('bb');
  });

  it('classifies whiteout names', () => {
    expect(classifyEntry('/etc/.wh.passwd')).toEqual({ kind: 'whiteout', target: '/etc/passwd' });
    expect(classifyEntry('/a/.wh..wh..opq')).toEqual({ kind: 'opaque', dir: '/a' });
    expect(classifyEntry('/.wh.x')).toEqual({ kind: 'whiteout', target: '/x' });
    expect(classifyEntry('/a/.wh..wh.plnk')).toEqual({ kind: 'invalid' });
    expect(classifyEntry('/a/.wh..')).toEqual({ kind: 'invalid' });
    expect(classifyEntry('/a/b')).toEqual({ kind: 'entry' });
  });

  /**
   * Reference model: a plain map, subtree removal by prefix scan, no indexes. The tree must
   * agree with it after any sequence of layers.
   */
  function model(layers: LayerChanges[]): string[] {
    const m = new Map<string, MeasuredEntry>();
    const removeTree = (p: string) => {
      for (const k of [...m.keys()]) if (k === p || k.startsWith(p + '/')) m.delete(k);
    };
    for (const l of layers) {
      for (const d of l.opaques)
        for (const k of [...m.keys()]) if (k.startsWith(d === '/' ? '/' : d + '/')) m.delete(k);
      for (const w of l.whiteouts) removeTree(w);
      for (const { entry } of l.entries) {
        const segs = entry.path.split('/').slice(1);
        let blocked = false;
        for (let i = 1; i < segs.length; i++) {
          const anc = '/' + segs.slice(0, i).join('/');
          const t = m.get(anc)?.type;
          if (t === 'symlink' || t === 'file') blocked = true;
          if (!m.has(anc) && !blocked) m.set(anc, dir(anc));
        }
        if (blocked) return ['<blocked>'];
        const old = m.get(entry.path);
        if (old && !(old.type === 'dir' && entry.type === 'dir')) removeTree(entry.path);
        m.set(entry.path, entry);
      }
    }
    return [...m.keys()].sort();
  }

  it('agrees with a naive reference model on random layer sequences', () => {
    fc.assert(
      fc.property(anyLayers, (layers) => {
        const t = new RootfsTree();
        let blocked = false;
        for (const l of layers)
          if (applyLayer(t, l)) {
            blocked = true;
            break;
          }
        const expected = model(layers);
        if (blocked) expect(expected).toEqual(['<blocked>']);
        else expect(paths(t).sort()).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('settles planned entries to what applying the settled layers gives', () => {
    fc.assert(
      fc.property(anyLayers, (layers) => {
        // What reading gives each entry: a digest for files, a fresh object for the rest.
        const settled = layers.map((l, i) => ({
          ...l,
          entries: l.entries.map(({ entry: e }, k) => ({
            entry: e.type === 'file' ? { ...e, sha256: `${i}.${k}` } : { ...e },
            extra: `${i}.${k}`,
          })),
        }));
        const planned = new RootfsTree<string>();
        const direct = new RootfsTree<string>();
        for (const [i, l] of layers.entries()) {
          if (applyLayer(planned, l)) return;
          expect(applyLayer(direct, settled[i]!)).toBeNull();
        }
        for (const [i, l] of layers.entries())
          l.entries.forEach(({ entry: e }, k) => {
            const { entry: next, extra } = settled[i]!.entries[k]!;
            planned.settle(e, next, extra);
          });
        expect(planned.entries()).toEqual(direct.entries());
      }),
      { numRuns: 500 },
    );
  });

  it('settles only the entry the tree still holds', () => {
    const t = new RootfsTree();
    const first = file('/a', '');
    const second = file('/a', '');
    t.put(first);
    t.put(second);
    expect(t.settle(first, file('/a', '11'))).toBe(false);
    expect(t.settle(second, dir('/a'))).toBe(false);
    expect(t.settle(second, file('/a', '22'))).toBe(true);
    expect(t.get('/a')?.entry.sha256).toBe('22');
  });
});
