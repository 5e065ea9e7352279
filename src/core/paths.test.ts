import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parentOf,
  parseEntryName,
  parseImagePath,
  resolveWithin,
  sortInTreeOrder,
} from './paths.js';

describe('parseImagePath', () => {
  it('tidies harmless spellings and refuses climbing', () => {
    expect(parseImagePath('/srv//www/./')).toEqual({ ok: true, path: '/srv/www' });
    expect(parseImagePath('/')).toEqual({ ok: true, path: '/' });
    expect(parseImagePath('srv')).toEqual({ ok: false, problem: 'not-absolute' });
    expect(parseImagePath('/srv/../etc')).toEqual({ ok: false, problem: 'dot-dot' });
    expect(parseImagePath('/a\0b')).toEqual({ ok: false, problem: 'nul' });
    expect(parseImagePath('/etc/.wh.passwd')).toEqual({ ok: false, problem: 'whiteout-name' });
    expect(parseImagePath(`/${'x'.repeat(256)}`)).toEqual({
      ok: false,
      problem: 'segment-too-long',
    });
  });

  it('never returns a path that climbs or is not canonical', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', '.', '..', '', 'c.d'), { maxLength: 10 }),
        (segs) => {
          const r = parseImagePath('/' + segs.join('/'));
          if (r.ok) {
            expect(
              r.path
                .split('/')
                .slice(1)
                .every((s) => s !== '..' && s !== '.'),
            ).toBe(true);
            expect(r.path === '/' || !r.path.endsWith('/')).toBe(true);
            expect(r.path).not.toMatch(/\/\//);
          } else expect(segs).toContain('..');
        },
      ),
    );
  });
});

describe('parseEntryName', () => {
  it('accepts what tar writers write and refuses escapes', () => {
    expect(parseEntryName('./etc/passwd')).toEqual({ ok: true, path: 'etc/passwd' });
    expect(parseEntryName('etc/')).toEqual({ ok: true, path: 'etc' });
    expect(parseEntryName('./')).toEqual({ ok: true, path: '' });
    expect(parseEntryName('/etc/passwd')).toEqual({ ok: false, problem: 'absolute' });
    expect(parseEntryName('a/../../etc')).toEqual({ ok: false, problem: 'dot-dot' });
    expect(parseEntryName('a//b')).toEqual({ ok: false, problem: 'empty' });
    expect(parseEntryName('a/./b')).toEqual({ ok: false, problem: 'dot' });
    expect(parseEntryName('a\0')).toEqual({ ok: false, problem: 'nul' });
  });
});

describe('tree order', () => {
  const pathArb = fc
    .array(fc.constantFrom('a', 'b', 'a-b', 'a.b', 'ab', 'z', '\u00e9'), {
      minLength: 1,
      maxLength: 4,
    })
    .map((s) => '/' + s.join('/'));

  it('puts every directory before its contents and is a total order on components', () => {
    fc.assert(
      fc.property(fc.uniqueArray(pathArb, { maxLength: 30 }), (paths) => {
        const sorted = sortInTreeOrder(paths, (p) => p);
        const componentwise = [...paths].sort((x, y) => {
          const a = x.split('/');
          const b = y.split('/');
          for (let i = 0; i < Math.min(a.length, b.length); i++) {
            const c = Buffer.compare(Buffer.from(a[i]!), Buffer.from(b[i]!));
            if (c !== 0) return c;
          }
          return a.length - b.length;
        });
        expect(sorted).toEqual(componentwise);
        for (const p of sorted) {
          for (let anc = parentOf(p); anc !== null && anc !== '/'; anc = parentOf(anc)) {
            if (sorted.includes(anc)) expect(sorted.indexOf(anc)).toBeLessThan(sorted.indexOf(p));
          }
        }
      }),
    );
  });

  it('knows parents', () => {
    expect(parentOf('/a/b/c')).toBe('/a/b');
    expect(parentOf('/a')).toBe('/');
    expect(parentOf('/')).toBeNull();
  });
});

describe('resolveWithin', () => {
  it('resolves lexically and reports climbing out', () => {
    expect(resolveWithin('bin', 'busybox')).toBe('bin/busybox');
    expect(resolveWithin('a/b', '../../c')).toBe('c');
    expect(resolveWithin('a', '../../etc/passwd')).toBeNull();
    expect(resolveWithin('a', '/etc/passwd')).toBeNull();
  });
});
