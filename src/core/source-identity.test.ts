import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SourceFile, SourceListing } from '../domain/source.js';
import { changedBetweenWalks } from './source-identity.js';

const file = (abs: string, ctimeMs = 1): SourceFile => ({
  abs,
  size: 3,
  dev: 1,
  ino: abs.charCodeAt(1),
  mtimeMs: 1,
  ctimeMs,
});
const listing = (...files: SourceFile[]): SourceListing => ({
  rootKind: 'dir',
  rootName: 'src',
  items: files.map((f) => ({ rel: f.abs.slice(1), kind: 'file', mode: 0o644, file: f })),
});

describe('changedBetweenWalks', () => {
  it('finds a file the walks saw with different identities', () => {
    expect(changedBetweenWalks([listing(file('/a')), listing(file('/a', 2))])).toEqual(
      file('/a', 2),
    );
  });

  it('finds a hard-linked file that changed between the looks at its two names', () => {
    const a = file('/a');
    const b = { ...file('/b', 2), dev: a.dev, ino: a.ino };
    expect(changedBetweenWalks([listing(a), listing(b)])).toEqual(b);
    expect(changedBetweenWalks([listing(a), listing({ ...b, ctimeMs: 1 })])).toBeNull();
  });

  it('accepts a file two layers saw alike, and different files', () => {
    expect(changedBetweenWalks([listing(file('/a'), file('/b')), listing(file('/a'))])).toBeNull();
    expect(changedBetweenWalks([listing(file('/a')), listing(file('/b', 2))])).toBeNull();
  });

  it('reports a conflict exactly when some path has two identities', () => {
    const f = fc.record({ abs: fc.constantFrom('/a', '/b', '/c'), ctimeMs: fc.nat(2) });
    fc.assert(
      fc.property(fc.array(fc.array(f, { maxLength: 4 }), { maxLength: 4 }), (walks) => {
        const listings = walks.map((w) => listing(...w.map((x) => file(x.abs, x.ctimeMs))));
        const all = walks.flat();
        const conflict = ['/a', '/b', '/c'].some(
          (p) => new Set(all.filter((x) => x.abs === p).map((x) => x.ctimeMs)).size > 1,
        );
        expect(changedBetweenWalks(listings) !== null).toBe(conflict);
      }),
    );
  });
});
