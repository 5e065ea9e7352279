import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterRotation,
  bounded,
  formatMarks,
  marksFor,
  MARK_EVERY_MS,
  nextMark,
  parseMarks,
  seenAt,
  stampLines,
  startSince,
  type LogMark,
} from './log-marks.js';

/** Marks as an agent makes them: time and offset both strictly forward. */
const marksArb = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 500 })), {
    maxLength: 40,
  })
  .map((steps) => {
    let at = 1_700_000_000_000;
    let offset = 0;
    return steps.map(([dt, grew]): LogMark => ({ at: (at += dt), offset: (offset += grew) }));
  });

const NOW = 2_000_000_000_000;

describe('log time marks', () => {
  it('stamp each byte with the first mark past it, later bytes never earlier', () => {
    fc.assert(
      fc.property(marksArb, fc.nat(25_000), (marks, p) => {
        const at = seenAt(marks, p, NOW);
        const covering = marks.find((m) => m.offset > p);
        expect(at).toBe(covering?.at ?? NOW);
        // The byte was not there at the mark before (it came after it).
        const before = marks.filter((m) => m.offset <= p).pop();
        if (before !== undefined) expect(at).toBeGreaterThan(before.at);
        expect(seenAt(marks, p + 1, NOW)).toBeGreaterThanOrEqual(at);
      }),
    );
  });

  it('--since starts at the first byte seen at or after the time, no later', () => {
    fc.assert(
      fc.property(
        marksArb,
        fc.integer({ min: 1_699_999_990_000, max: 1_700_000_500_000 }),
        (marks, since) => {
          const start = startSince(marks, since);
          const last = marks[marks.length - 1]?.offset ?? 0;
          // Every byte from the start on is stamped at or after `since`…
          for (let p = start; p < last; p++)
            expect(seenAt(marks, p, NOW)).toBeGreaterThanOrEqual(since);
          // …and the byte before it is not: nothing seen since then is left out.
          if (start > 0) expect(seenAt(marks, start - 1, NOW)).toBeLessThan(since);
        },
      ),
    );
  });

  it('a rotation moves the marks with the bytes, and keeps them in order', () => {
    fc.assert(
      fc.property(marksArb, fc.nat(5000), fc.nat(5000), (marks, dropped, kept) => {
        const moved = afterRotation(marks, { dropped, kept });
        for (const m of moved) expect(m.offset).toBeLessThanOrEqual(kept);
        for (let i = 1; i < moved.length; i++) {
          expect(moved[i]!.offset).toBeGreaterThan(moved[i - 1]!.offset);
          expect(moved[i]!.at).toBeGreaterThan(moved[i - 1]!.at);
        }
        // A byte that stays keeps its time: byte p of the old log is byte p - dropped now.
        const end = Math.min(marks[marks.length - 1]?.offset ?? 0, dropped + kept);
        for (let p = dropped; p < end; p++)
          expect(seenAt(moved, p - dropped, NOW)).toBe(seenAt(marks, p, NOW));
      }),
    );
  });

  it('read back what was written, skipping what a crash or a hand left in the file', () => {
    fc.assert(
      fc.property(marksArb, (marks) => {
        expect(parseMarks(formatMarks(marks))).toEqual(marks);
      }),
    );
    const text = '1000 10\n2000 5\nrubbish\n900 20\n3000 30\n4000 4';
    // Back in offset, back in time and a line cut short are skipped.
    expect(parseMarks(text)).toEqual([
      { at: 1000, offset: 10 },
      { at: 3000, offset: 30 },
    ]);
    expect(
      bounded(
        [...Array(10).keys()].map((i) => ({ at: i, offset: i })),
        3,
      ),
    ).toHaveLength(3);
  });

  it('a mark is added once the log grew and the interval passed', () => {
    expect(nextMark(undefined, 0, 5)).toBeNull();
    expect(nextMark(undefined, 7, 5)).toEqual({ at: 5, offset: 7 });
    const last = { at: 1000, offset: 7 };
    expect(nextMark(last, 7, 1000 + 10 * MARK_EVERY_MS)).toBeNull();
    expect(nextMark(last, 9, 1000 + MARK_EVERY_MS - 1)).toBeNull();
    expect(nextMark(last, 9, 1000 + MARK_EVERY_MS)).toEqual({ at: 2000, offset: 9 });
  });

  it('an answer carries the marks that stamp its bytes, and lines are stamped by them', () => {
    const marks = [
      { at: Date.UTC(2026, 0, 1, 0, 0, 1), offset: 4 },
      { at: Date.UTC(2026, 0, 1, 0, 0, 2), offset: 8 },
      { at: Date.UTC(2026, 0, 1, 0, 0, 3), offset: 12 },
    ];
    expect(marksFor(marks, 5, 8)).toEqual(marks.slice(1, 2));
    expect(marksFor(marks, 8, 20)).toEqual(marks.slice(2));
    // "ab\n" (0-2), "cd\n" (3-5), "efgh\n" (6-10), "ij" (11-12), "k\n" (13-14, not marked):
    // before offsets 4, 8 and 12 began 2, 3 and 4 lines.
    const text = 'ab\ncd\nefgh\nij';
    const byLines = marks.map((m, k) => ({ at: m.at, lines: [2, 3, 4][k]! }));
    expect(stampLines(text, byLines, Date.UTC(2026, 0, 1, 0, 0, 9))).toBe(
      '2026-01-01T00:00:01.000Z ab\n' +
        '2026-01-01T00:00:01.000Z cd\n' +
        '2026-01-01T00:00:02.000Z efgh\n' +
        '2026-01-01T00:00:03.000Z ij',
    );
    // The last two lines alone (a tail): numbered from 2, stamped as before.
    expect(stampLines('efgh\nij', byLines, 0, { firstLine: 2 })).toBe(
      '2026-01-01T00:00:02.000Z efgh\n2026-01-01T00:00:03.000Z ij',
    );
    // The next answer goes on the line "ij" began: its first piece is not stamped again.
    expect(stampLines('k\nl\n', [], Date.UTC(2026, 0, 1, 0, 0, 9), { midLine: true })).toBe(
      'k\n2026-01-01T00:00:09.000Z l\n',
    );
  });
});
