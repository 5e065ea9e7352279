import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeasuredEntry } from '../../domain/measurement.js';
import { diffTree, type ObservedEntry } from './diff.js';

const entry: fc.Arbitrary<MeasuredEntry> = fc.oneof(
  fc.record({
    path: fc.stringMatching(/^\/[a-z]{1,6}$/),
    type: fc.constant('file' as const),
    mode: fc.constantFrom(0o644, 0o755, 0o4755),
    uid: fc.nat(3),
    gid: fc.nat(3),
    size: fc.nat(100),
    sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
  }),
  fc.record({
    path: fc.stringMatching(/^\/[a-z]{1,6}$/),
    type: fc.constant('dir' as const),
    mode: fc.constantFrom(0o755, 0o700),
    uid: fc.nat(3),
    gid: fc.nat(3),
    size: fc.constant(0),
  }),
  fc.record({
    path: fc.stringMatching(/^\/[a-z]{1,6}$/),
    type: fc.constant('symlink' as const),
    mode: fc.constant(0o777),
    uid: fc.nat(3),
    gid: fc.nat(3),
    size: fc.constant(0),
    target: fc.stringMatching(/^[a-z/]{1,8}$/),
  }),
);
const tree = fc.uniqueArray(entry, { selector: (e) => e.path, maxLength: 8 });
const observe = (e: MeasuredEntry): ObservedEntry => ({
  type: e.type,
  mode: e.mode,
  uid: e.uid,
  gid: e.gid,
  size: e.size,
  ...(e.sha256 !== undefined && { sha256: e.sha256 }),
  ...(e.target !== undefined && { target: e.target }),
});

describe('diffTree', () => {
  it('finds nothing when disk matches the measurement', () => {
    fc.assert(
      fc.property(tree, (t) => {
        expect(diffTree(t, new Map(t.map((e) => [e.path, observe(e)])))).toEqual([]);
      }),
    );
  });

  it('finds every added, removed and changed path', () => {
    fc.assert(
      fc.property(tree, fc.nat(), (t, pick) => {
        if (t.length === 0) return;
        const victim = t[pick % t.length]!;
        const observed = new Map(t.map((e) => [e.path, observe(e)]));
        observed.delete(victim.path);
        expect(diffTree(t, observed)).toEqual([
          { kind: 'removed', path: victim.path, expected: victim.type },
        ]);
        observed.set(victim.path, { ...observe(victim), uid: victim.uid + 1 });
        expect(diffTree(t, observed)).toEqual([
          {
            kind: 'changed',
            path: victim.path,
            field: 'uid',
            expected: String(victim.uid),
            actual: String(victim.uid + 1),
          },
        ]);
        observed.set(victim.path, observe(victim));
        observed.set('/zz/new', { type: 'file', mode: 0o755, uid: 0, gid: 0, size: 1 });
        expect(diffTree(t, observed)).toEqual([{ kind: 'added', path: '/zz/new', actual: 'file' }]);
      }),
    );
  });

  it('reports a changed type once, and accepts the host’s mount points as folders only', () => {
    const file: MeasuredEntry = {
      path: '/a',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 1,
      sha256: 'x',
    };
    expect(
      diffTree([file], new Map([['/a', { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 }]])),
    ).toEqual([{ kind: 'changed', path: '/a', field: 'type', expected: 'file', actual: 'dir' }]);
    const proc: ObservedEntry = { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 };
    expect(diffTree([], new Map([['/proc', proc]]), new Set(['/proc']))).toEqual([]);
    expect(
      diffTree([], new Map([['/proc', { ...proc, type: 'file' }]]), new Set(['/proc'])),
    ).toEqual([{ kind: 'added', path: '/proc', actual: 'file' }]);
  });
});
