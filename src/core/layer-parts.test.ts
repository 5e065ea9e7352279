import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entryBytes, planParts, type PartOptions, type PartRange } from './layer-parts.js';
import type { StreamEntry } from './segments.js';

const small: PartOptions = { min: 8_000, target: 20_000, max: 60_000, maxParts: 12 };
/** Room for any number of parts: the scale stays where the total puts it. */
const roomy: PartOptions = { ...small, maxParts: 10_000 };
const entryArb = fc.record({
  name: fc.stringMatching(/^[a-z]{1,10}\/[a-z0-9]{1,12}$/),
  headerLength: fc.constantFrom(512, 1536),
  size: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 40_000 })),
});
const entriesArb = fc.uniqueArray(entryArb, { maxLength: 200, selector: (e) => e.name });

const bytesOf = (entries: readonly StreamEntry[], p: PartRange) =>
  entries.slice(p.start, p.end).reduce((n, e) => n + entryBytes(e), 0);

describe('planParts', () => {
  it('tiles the entries with contiguous, non-empty parts, none below min but the last', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const parts = planParts(entries, small);
        expect(parts.length).toBeGreaterThan(0);
        let at = 0;
        for (const [i, p] of parts.entries()) {
          expect(p.start).toBe(at);
          if (entries.length > 0) expect(p.end).toBeGreaterThan(p.start);
          const last = i === parts.length - 1;
          if (!last) expect(bytesOf(entries, p)).toBeGreaterThanOrEqual(small.min);
          at = p.end;
        }
        expect(at).toBe(entries.length);
      }),
    );
  });

  it('keeps a part at most max plus the entry that crossed it', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        for (const p of planParts(entries, roomy)) {
          const lastEntry = entries[p.end - 1];
          const allowance = lastEntry ? entryBytes(lastEntry) : 0;
          expect(bytesOf(entries, p) - allowance).toBeLessThan(roomy.max);
        }
      }),
    );
  });

  it('never makes more parts than maxParts, whatever the entries', () => {
    fc.assert(
      fc.property(entriesArb, fc.integer({ min: 1, max: 6 }), (entries, maxParts) => {
        const parts = planParts(entries, { ...small, min: 2_000, target: 4_000, maxParts });
        expect(parts.length).toBeLessThanOrEqual(maxParts);
        expect(parts.at(-1)?.end ?? 0).toBe(entries.length);
      }),
    );
  });

  it('keeps a layer below min whole', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const total = entries.reduce((n, e) => n + entryBytes(e), 0);
        fc.pre(total < small.min);
        expect(planParts(entries, small)).toHaveLength(1);
      }),
    );
  });

  it('doubles the target instead of exceeding maxParts (roughly: cuts are by hash)', () => {
    const entries = Array.from({ length: 4000 }, (_, i) => ({
      name: `d/${i}`,
      headerLength: 512,
      size: 1000 + (i % 7) * 300,
    }));
    const parts = planParts(entries, small);
    // 4000 × ~2.4 kB ≈ 9.6 MB: far more than 12 × target; the scale keeps it near maxParts.
    expect(parts.length).toBeLessThanOrEqual(small.maxParts * 2);
    expect(parts.length).toBeGreaterThan(small.maxParts / 4);
  });

  it('moves no cut before a changed entry, and once a cut lines up again, none after it', () => {
    fc.assert(
      fc.property(
        entriesArb,
        fc.nat(),
        fc.integer({ min: 0, max: 40_000 }),
        (entries, pick, size) => {
          fc.pre(entries.length > 0);
          const k = pick % entries.length;
          const changed = entries.map((e, i) => (i === k ? { ...e, size } : e));
          const a = planParts(entries, roomy);
          const b = planParts(changed, roomy);
          const before = (parts: PartRange[]) => parts.filter((p) => p.end <= k);
          expect(before(b)).toEqual(before(a));
          const startsA = new Set(a.map((p) => p.start));
          const resync = b.find((p) => p.start > k && startsA.has(p.start));
          if (resync) {
            const after = (parts: PartRange[]) => parts.filter((p) => p.start >= resync.start);
            expect(after(b)).toEqual(after(a));
          }
        },
      ),
    );
  });

  it('changes one or two parts out of many when one file changes size (typical tree)', () => {
    const entries = Array.from({ length: 3000 }, (_, i) => ({
      name: `d${Math.floor(i / 50)}/f${i}`,
      headerLength: 512,
      size: 200 + ((i * 7919) % 9000),
    }));
    const base = planParts(entries, roomy);
    let differing = 0;
    for (let k = 0; k < entries.length; k += 97) {
      const changed = entries.map((e, i) => (i === k ? { ...e, size: e.size + 5000 } : e));
      const key = (p: PartRange) => `${p.start}-${p.end}`;
      const was = new Set(base.map(key));
      differing += planParts(changed, roomy).filter((p) => !was.has(key(p))).length;
    }
    const trials = Math.ceil(entries.length / 97);
    expect(differing / trials).toBeLessThan(2.5);
  });
});
