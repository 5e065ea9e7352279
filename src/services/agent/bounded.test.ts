import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { settleBounded } from './bounded.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 100) });

describe('settleBounded', () => {
  it('never runs more than the limit at once, and settles every item in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ fail: fc.boolean(), ticks: fc.integer({ min: 0, max: 3 }) }), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 6 }),
        async (items, limit) => {
          let running = 0;
          let peak = 0;
          const results = await settleBounded(items, limit, async (item) => {
            running++;
            peak = Math.max(peak, running);
            for (let i = 0; i < item.ticks; i++) await Promise.resolve();
            running--;
            if (item.fail) throw new Error('no');
          });
          expect(peak).toBeLessThanOrEqual(limit);
          expect(results.map((r) => r.status)).toEqual(
            items.map((i) => (i.fail ? 'rejected' : 'fulfilled')),
          );
        },
      ),
    );
  });

  it('keeps the limit busy: a slow item does not hold up the rest', async () => {
    const order: number[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const done = settleBounded([0, 1, 2, 3], 2, async (n) => {
      if (n === 0) await slow;
      order.push(n);
    });
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([1, 2, 3]);
    release();
    await done;
    expect(order).toEqual([1, 2, 3, 0]);
  });
});
