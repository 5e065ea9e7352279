import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, formatDuration, parseDuration, readDuration } from './duration.js';

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS } as const;
const BIG = 10_000 * 366 * DAY_MS;

describe('readDuration', () => {
  it('reads what formatDuration writes, back to the same milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: BIG }), (ms) => {
        expect(parseDuration(formatDuration(ms), { maxMs: BIG })).toBe(ms);
      }),
    );
  });

  it('is monotonic: a longer duration reads longer, whatever units each is written in', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: BIG }), fc.integer({ min: 0, max: BIG }), (a, b) => {
        const [x, y] = [
          parseDuration(formatDuration(a), { maxMs: BIG })!,
          parseDuration(formatDuration(b), { maxMs: BIG })!,
        ];
        expect(Math.sign(x - y)).toBe(Math.sign(a - b));
      }),
    );
    // More of any one part is longer.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99_999 }),
        fc.constantFrom(...(Object.keys(UNITS) as (keyof typeof UNITS)[])),
        (n, unit) => {
          expect(parseDuration(`${n + 1}${unit}`, { maxMs: BIG })!).toBeGreaterThan(
            parseDuration(`${n}${unit}`, { maxMs: BIG })!,
          );
        },
      ),
    );
  });

  it('reads a count and a unit within the bound, and refuses past it with the bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999_999 }),
        fc.constantFrom(...(Object.keys(UNITS) as (keyof typeof UNITS)[])),
        fc.integer({ min: 0, max: 400 * DAY_MS }),
        (n, unit, max) => {
          const ms = n * UNITS[unit];
          const r = readDuration(` ${n}${unit} `, { maxMs: max });
          if (ms <= max) expect(r).toEqual({ ok: true, ms });
          else expect(r).toEqual({ ok: false, reason: `longer than ${formatDuration(max)}` });
        },
      ),
    );
  });

  it('takes compound durations, a bare number in the unit asked for, and a day by default', () => {
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1h2m3s4ms')).toBe(3_723_004);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('5', { bareUnitMs: 60_000 })).toBe(300_000);
    expect(parseDuration(1.5)).toBe(1500);
    expect(parseDuration(86_400)).toBe(DAY_MS);
    expect(parseDuration(86_401)).toBeNull();
    expect(parseDuration('2d')).toBeNull();
    expect(parseDuration('2d', { maxMs: 7 * DAY_MS })).toBe(2 * DAY_MS);
    expect(readDuration('0s', { minMs: 1000, maxMs: DAY_MS })).toEqual({
      ok: false,
      reason: 'shorter than 1s',
    });
  });

  it('refuses negatives, garbage and absurd values, saying which', () => {
    expect(readDuration('-5s')).toEqual({ ok: false, reason: 'a duration cannot be negative' });
    expect(readDuration(-1)).toEqual({ ok: false, reason: 'a duration cannot be negative' });
    expect(readDuration('999999999999d', { maxMs: Number.MAX_SAFE_INTEGER })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^longer than/) as string,
    });
    expect(readDuration('1'.repeat(100))).toEqual({
      ok: false,
      reason: 'too long to be a duration',
    });
    for (const raw of [
      '',
      's',
      '1.5s',
      '5 s',
      '1w',
      '1e3s',
      '0x10s',
      '30s1m', // out of order
      '1m1m', // twice
      '1m30',
      'm30s',
      NaN,
      Infinity,
    ])
      expect(parseDuration(raw), String(raw)).toBeNull();
  });

  it('writes the shortest form', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(80_000)).toBe('1m20s');
    expect(formatDuration(DAY_MS + 1000)).toBe('1d1s');
    expect(formatDuration(-5)).toBe('0s');
  });
});
