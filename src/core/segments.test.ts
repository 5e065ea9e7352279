import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planSegments, type SegmentOptions, type StreamEntry } from './segments.js';
import { END_OF_ARCHIVE, paddingFor } from './tar/header.js';

const small: SegmentOptions = { target: 4096, chunk: 4096, max: 16384 };
const entryArb = fc.record({
  name: fc.stringMatching(/^[a-z]{1,12}$/),
  headerLength: fc.constantFrom(512, 1536),
  size: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 20000 })),
});

function streamLength(entries: readonly StreamEntry[]): number {
  return (
    entries.reduce((n, e) => n + e.headerLength + e.size + paddingFor(e.size), 0) + END_OF_ARCHIVE
  );
}

describe('planSegments', () => {
  it('tiles the whole stream with contiguous, non-empty, bounded segments', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 60 }), (entries) => {
        const layout = planSegments(entries, small);
        expect(layout.total).toBe(streamLength(entries));
        let pos = 0;
        for (const [i, s] of layout.segments.entries()) {
          expect(s.index).toBe(i);
          expect(s.start).toBe(pos);
          expect(s.end).toBeGreaterThan(s.start);
          // One entry's header + a chunk can overhang the cap by at most that entry.
          expect(s.end - s.start).toBeLessThanOrEqual(
            small.max + small.chunk + 2048 + END_OF_ARCHIVE,
          );
          pos = s.end;
        }
        expect(pos).toBe(layout.total);
        layout.offsets.forEach((o, i) => {
          if (i > 0) expect(o).toBeGreaterThan(layout.offsets[i - 1]! - 1);
        });
      }),
    );
  });

  it('cuts big files at fixed offsets of their own data', () => {
    const layout = planSegments([{ name: 'big', headerLength: 512, size: 3 * 4096 + 10 }], small);
    expect(layout.segments.map((s) => s.start)).toEqual([
      0,
      512 + 4096,
      512 + 8192,
      512 + 12288,
      512 + 12288 + 512,
    ]);
  });

  it('keeps cuts away from a changed entry where they were (so cached segments are reused)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(entryArb, { minLength: 20, maxLength: 80, selector: (e) => e.name }),
        fc.nat(),
        fc.integer({ min: 0, max: 3000 }),
        (entries, which, newSize) => {
          const i = which % entries.length;
          const changed = entries.map((e, j) => (j === i ? { ...e, size: newSize } : e));
          const cutsByEntry = (es: StreamEntry[]) => {
            const l = planSegments(es, small);
            const starts = new Set(l.segments.map((s) => s.start));
            return es.map((_, j) => starts.has(l.offsets[j]!));
          };
          const before = cutsByEntry(entries);
          const after = cutsByEntry(changed);
          // Only the cuts touching the changed entry and its next neighbours may differ
          // (the size cap can carry a change a few entries forward).
          const differing = before.map((b, j) => (b !== after[j] ? j : -1)).filter((j) => j >= 0);
          for (const j of differing) expect(j).toBeGreaterThanOrEqual(i);
          expect(differing.length).toBeLessThanOrEqual(6);
        },
      ),
    );
  });
});
