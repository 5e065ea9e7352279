import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fairestStart } from './fair-start.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 200) });

const fleet = fc.constantFrom('a', 'b', 'c', 'd');
const busyOf = (inFlight: readonly string[], f: string) => inFlight.filter((x) => x === f).length;

describe('fairestStart', () => {
  it('is -1 for an empty queue', () => {
    expect(fairestStart([], ['a', 'b'])).toBe(-1);
  });

  it('picks a start of a least busy fleet, the first such in queue order', () => {
    fc.assert(
      fc.property(fc.array(fleet, { minLength: 1 }), fc.array(fleet), (queued, inFlight) => {
        const at = fairestStart(queued, inFlight);
        expect(at).toBeGreaterThanOrEqual(0);
        const least = Math.min(...queued.map((f) => busyOf(inFlight, f)));
        expect(busyOf(inFlight, queued[at]!)).toBe(least);
        for (let i = 0; i < at; i++) expect(busyOf(inFlight, queued[i]!)).toBeGreaterThan(least);
      }),
    );
  });

  it('keeps the queue order when nothing is under way', () => {
    fc.assert(
      fc.property(fc.array(fleet, { minLength: 1 }), (queued) => {
        expect(fairestStart(queued, [])).toBe(0);
      }),
    );
  });

  it('lets another fleet past a storm that holds every slot', () => {
    const storm = Array.from({ length: 1000 }, () => 'storm');
    expect(fairestStart([...storm, 'other'], ['storm', 'storm', 'storm'])).toBe(1000);
  });

  it('serves every fleet within as many picks as there are fleets waiting', () => {
    // Replaying picks with slots that free at once: no fleet waits behind another's storm.
    fc.assert(
      fc.property(fc.array(fleet, { minLength: 1, maxLength: 60 }), (initial) => {
        const queued = [...initial];
        const inFlight: string[] = [];
        const firstPick = new Map<string, number>();
        for (let pick = 0; queued.length > 0; pick++) {
          const at = fairestStart(queued, inFlight);
          const [f] = queued.splice(at, 1);
          if (!firstPick.has(f!)) firstPick.set(f!, pick);
          inFlight.push(f!);
        }
        const fleets = new Set(initial).size;
        for (const p of firstPick.values()) expect(p).toBeLessThan(fleets);
      }),
    );
  });
});
