import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, parseDuration } from './units.js';

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS } as const;

describe('parseDuration', () => {
  it('reads a count and a unit, within the bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999_999 }),
        fc.constantFrom(...(Object.keys(UNITS) as (keyof typeof UNITS)[])),
        fc.integer({ min: 0, max: 400 * DAY_MS }),
        (n, unit, max) => {
          const ms = n * UNITS[unit];
          expect(parseDuration(` ${n}${unit} `, max)).toBe(ms <= max ? ms : null);
        },
      ),
    );
  });

  it('takes a bare number as seconds, and a day as the default bound', () => {
    expect(parseDuration(1.5)).toBe(1500);
    expect(parseDuration(86_400)).toBe(DAY_MS);
    expect(parseDuration(86_401)).toBeNull();
    expect(parseDuration('2d')).toBeNull();
    expect(parseDuration('2d', 7 * DAY_MS)).toBe(2 * DAY_MS);
  });

  it('refuses anything else', () => {
    for (const raw of [
      '',
      '5',
      's',
      '-1s',
      '1.5s',
      '5 s',
      '1w',
      '1e3s',
      '0x10s',
      NaN,
      -1,
      Infinity,
    ])
      expect(parseDuration(raw), String(raw)).toBeNull();
  });
});
