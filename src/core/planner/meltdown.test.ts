import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inMeltdown } from './meltdown.js';

describe('inMeltdown', () => {
  const guard = { maxFailedPercent: 50, windowMs: 60_000 };
  it('trips when more than the share failed within the window, and clears after it', () => {
    expect(inMeltdown([1000, 2000], 3000, guard, 4)).toBe(false); // 2 of 4: not more than 50 %
    expect(inMeltdown([1000, 2000, 2500], 3000, guard, 4)).toBe(true);
    expect(inMeltdown([1000, 2000, 2500], 62_000, guard, 4)).toBe(false); // two left the window
    expect(inMeltdown([], 0, guard, 0)).toBe(false);
  });

  it('is monotone: more failures, a longer window or a lower share never clear it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(100_000), { maxLength: 20 }),
        fc.nat(100_000),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 20 }),
        fc.nat(100_000),
        (failures, now, pct, windowMs, replicas, extra) => {
          const g = { maxFailedPercent: pct, windowMs };
          if (!inMeltdown(failures, now, g, replicas)) return;
          expect(inMeltdown([...failures, extra], now, g, replicas)).toBe(true);
          expect(inMeltdown(failures, now, { ...g, windowMs: windowMs * 2 }, replicas)).toBe(true);
          expect(
            inMeltdown(failures, now, { ...g, maxFailedPercent: Math.max(1, pct - 1) }, replicas),
          ).toBe(true);
        },
      ),
    );
  });
});
