import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, CRASH_BACKOFF, START_BACKOFF, worthRecording } from './backoff.js';

describe('back-off', () => {
  it('starts short for start failures and doubles to a cap', () => {
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(START_BACKOFF, n))).toEqual([
      0, 2_000, 4_000, 8_000, 16_000,
    ]);
    expect(backoffDelay(START_BACKOFF, 1_000_000)).toBe(300_000);
  });

  it('for crash loops: 10 s doubling to 5 min', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(CRASH_BACKOFF, n))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000,
    ]);
  });

  it('never shrinks as failures add up, never passes its cap, never waits after none', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        (firstMs, maxMs, n) => {
          const policy = { firstMs, maxMs };
          const d = backoffDelay(policy, n);
          expect(d).toBeLessThanOrEqual(maxMs);
          expect(backoffDelay(policy, n + 1)).toBeGreaterThanOrEqual(d);
          expect(d === 0).toBe(n === 0);
        },
      ),
    );
    expect(backoffDelay(START_BACKOFF, Number.NaN)).toBe(0);
  });

  it('records the first failure and then only at powers of two: logarithmic in the retries', () => {
    expect([1, 2, 3, 4, 5, 8, 9, 16].map(worthRecording)).toEqual([
      true,
      true,
      false,
      true,
      false,
      true,
      false,
      true,
    ]);
    expect(worthRecording(0)).toBe(false);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), (retries) => {
        let records = 0;
        for (let n = 1; n <= retries; n++) if (worthRecording(n)) records++;
        expect(records).toBe(Math.floor(Math.log2(retries)) + 1);
      }),
      { numRuns: 30 },
    );
  });
});
