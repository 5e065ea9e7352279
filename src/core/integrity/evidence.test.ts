import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bounded, describeDrift, MAX_EVIDENCE, toEvidence } from './evidence.js';

describe('evidence', () => {
  it('keeps attacker-chosen names printable and short', () => {
    expect(bounded('/etc/\u001b[31mevil\nname\u007f')).toBe('/etc/?[31mevil?name?');
    expect(bounded('x'.repeat(512))).toBe('x'.repeat(512));
    expect(bounded('x'.repeat(513))).toBe(`${'x'.repeat(509)}...`);
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (s) => {
        const b = bounded(s);
        expect(b.length).toBeLessThanOrEqual(512);
        expect(b).not.toMatch(/[\u0000-\u001f\u007f]/); // eslint-disable-line no-control-regex
      }),
    );
  });

  it('records at most MAX_EVIDENCE findings of a check, each stamped with its detector and time', () => {
    const findings = Array.from({ length: MAX_EVIDENCE + 5 }, (_, n) => ({
      path: `/f${n}`,
      expected: 'nothing',
      actual: 'file added',
    }));
    const out = toEvidence('files-full', findings, '1970-01-01T00:00:00.000Z');
    expect(out).toHaveLength(MAX_EVIDENCE);
    expect(out[0]).toEqual({
      detector: 'files-full',
      path: '/f0',
      expected: 'nothing',
      actual: 'file added',
      time: '1970-01-01T00:00:00.000Z',
    });
  });

  it('says what each kind of file drift was', () => {
    expect(describeDrift({ kind: 'added', path: '/x', actual: 'file' })).toEqual({
      path: '/x',
      expected: 'nothing',
      actual: 'file added',
    });
    expect(describeDrift({ kind: 'removed', path: '/x', expected: 'dir' })).toEqual({
      path: '/x',
      expected: 'dir',
      actual: 'removed',
    });
    expect(
      describeDrift({
        kind: 'changed',
        path: '/x',
        field: 'mode',
        expected: '0755',
        actual: '04755',
      }),
    ).toEqual({ path: '/x', expected: 'mode 0755', actual: 'mode 04755' });
  });
});
