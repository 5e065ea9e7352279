import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOrNothing, inParallel } from './in-parallel.js';

describe('inParallel', () => {
  it('does every item once, never more than the limit at a time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(3), { maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        async (delays, limit) => {
          let running = 0;
          let peak = 0;
          const done: number[] = [];
          await inParallel([...delays.keys()], limit, async (i) => {
            peak = Math.max(peak, ++running);
            await new Promise((r) => setTimeout(r, delays[i]));
            done.push(i);
            running--;
          });
          expect(done.sort((a, b) => a - b)).toEqual([...delays.keys()]);
          expect(peak).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('throws the first failure only once every started task has settled', async () => {
    const settled: number[] = [];
    const run = inParallel([0, 1, 2, 3, 4], 3, async (i) => {
      if (i === 0) throw new Error('first');
      await new Promise((r) => setTimeout(r, 20));
      settled.push(i);
    });
    await expect(run).rejects.toThrow('first');
    // 1 and 2 had started beside 0: they finished before the failure was thrown; 3 and 4
    // were never started.
    expect(settled.sort()).toEqual([1, 2]);
  });
});

describe('allOrNothing', () => {
  it('gives every value, or throws the first failure once every promise has settled', async () => {
    expect(await allOrNothing([Promise.resolve(1), Promise.resolve('two')])).toEqual([1, 'two']);
    let slowDone = false;
    const slow = new Promise<void>((r) => setTimeout(r, 30)).then(() => {
      slowDone = true;
    });
    const run = allOrNothing([Promise.reject(new Error('first')), slow]);
    await expect(run).rejects.toThrow('first');
    expect(slowDone).toBe(true);
  });
});
