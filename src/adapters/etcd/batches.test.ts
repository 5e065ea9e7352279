import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batches, opBytes } from './batches.js';

describe('batches', () => {
  it('keep every item once, in order, within both limits (a lone item may be larger)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(200), { maxLength: 300 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 500 }),
        (sizes, maxOps, maxBytes) => {
          const out = batches(sizes, (s) => s, { maxOps, maxBytes });
          expect(out.flat()).toEqual(sizes);
          for (const b of out) {
            expect(b.length).toBeGreaterThan(0);
            expect(b.length).toBeLessThanOrEqual(maxOps);
            const total = b.reduce((a, s) => a + s, 0);
            if (b.length > 1) expect(total).toBeLessThanOrEqual(maxBytes);
          }
          // None cut early: the next batch's first item did not fit in the one before.
          for (let n = 1; n < out.length; n++) {
            const before = out[n - 1]!;
            const total = before.reduce((a, s) => a + s, 0);
            expect(before.length === maxOps || total + out[n]![0]! > maxBytes).toBe(true);
          }
        },
      ),
    );
  });

  it("count an operation's key and value bytes", () => {
    const key = Buffer.from('/ingot/status/h1/web-1');
    expect(opBytes({ request_put: { key, value: Buffer.alloc(1000) } })).toBe(key.length + 1000);
    expect(opBytes({ request_delete_range: { key } })).toBe(key.length);
  });
});
