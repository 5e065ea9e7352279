import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canaryWeights, shareOf } from './canary-weights.js';
import { MAX_WEIGHT } from './edge.js';

const counts = fc.record({
  old: fc.integer({ min: 0, max: 60 }),
  new: fc.integer({ min: 0, max: 60 }),
});
const percent = fc.oneof(
  fc.constantFrom(0, 1, 5, 10, 25, 33, 50, 90, 99, 100),
  fc.integer({ min: 0, max: 100 }),
  fc.double({ min: 0, max: 100, noNaN: true }),
);

/** Every pair of weights there is (1–256 each), for the share nearest `p`. */
function bruteForce(p: number, n: { old: number; new: number }): number {
  let best = Infinity;
  for (let o = 1; o <= MAX_WEIGHT; o++)
    for (let w = 1; w <= MAX_WEIGHT; w++)
      best = Math.min(best, Math.abs(shareOf({ old: o, new: w }, n) - p));
  return best;
}

describe('canaryWeights', () => {
  it('gives whole weights of 0–256 whose share of requests is within ±1 point of the percent', () => {
    fc.assert(
      fc.property(percent, counts, (p, n) => {
        const w = canaryWeights(p, n);
        if (!w.ok) return;
        for (const x of [w.old, w.new]) {
          expect(Number.isInteger(x)).toBe(true);
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(MAX_WEIGHT);
        }
        // Recomputed here from the weights and counts, not taken from the answer.
        const share = (100 * n.new * w.new) / (n.new * w.new + n.old * w.old);
        expect(Math.abs(share - p)).toBeLessThanOrEqual(1); // the issue: within ±1 point
        expect(w.share).toBeCloseTo(share, 9);
      }),
      { numRuns: 3_000 },
    );
  });

  it('is exact at 0 % and 100 %', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (o, n) => {
        const none = canaryWeights(0, { old: o, new: n });
        const all = canaryWeights(100, { old: o, new: n });
        expect(none).toMatchObject({ ok: true, new: 0, share: 0 });
        expect(all).toMatchObject({ ok: true, old: 0, share: 100 });
        if (none.ok) expect(none.old).toBeGreaterThan(0);
        if (all.ok) expect(all.new).toBeGreaterThan(0);
      }),
    );
  });

  it('refuses only what no pair of weights can give (checked against every pair)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        (p, o, n) => {
          const w = canaryWeights(p, { old: o, new: n });
          expect(w.ok).toBe(bruteForce(p, { old: o, new: n }) <= 1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gives a canary instance at least weight 1 between the ends: it is never starved', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 99.99, noNaN: true }), counts, (p, n) => {
        const w = canaryWeights(p, n);
        if (w.ok) expect(Math.min(w.old, w.new)).toBeGreaterThanOrEqual(1);
      }),
    );
  });

  it('is deterministic, and says why when it cannot', () => {
    expect(canaryWeights(10, { old: 2, new: 1 })).toEqual({ ok: true, old: 9, new: 2, share: 10 });
    expect(canaryWeights(10, { old: 2, new: 1 })).toEqual(canaryWeights(10, { old: 2, new: 1 }));
    const tiny = canaryWeights(1, { old: 1, new: 100 });
    expect(tiny.ok).toBe(false);
    if (!tiny.ok) {
      expect(tiny.reason).toMatch(/cannot give 1 % of requests to 100 new and 1 old/);
      expect(tiny.closest).toBeCloseTo((100 * 100) / (100 + 256), 6);
    }
    expect(canaryWeights(10, { old: 0, new: 3 })).toMatchObject({ ok: false });
    expect(canaryWeights(0, { old: 0, new: 3 })).toMatchObject({ ok: false });
    expect(canaryWeights(Number.NaN, { old: 1, new: 1 })).toMatchObject({ ok: false });
    expect(canaryWeights(101, { old: 1, new: 1 })).toMatchObject({ ok: false });
    expect(canaryWeights(50, { old: 1.5, new: 1 })).toMatchObject({ ok: false });
  });
});
