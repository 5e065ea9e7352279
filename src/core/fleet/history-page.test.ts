import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { historyQuery } from '../api/fleets.js';
import {
  DEFAULT_HISTORY_PAGE,
  digestsIn,
  historySubjects,
  MAX_HISTORY_PAGE,
  type HistoryPageQuery,
} from './history-page.js';
import { pageBy, rowsFor } from './release-page.js';

interface Line {
  readonly seq: number;
  readonly fleet: string;
  readonly subjects: readonly string[];
}

/** What the store answers (ports/fleet-store.ts): the lines asked, below `before`, newest first. */
const store =
  (lines: readonly Line[]) =>
  (q: HistoryPageQuery): Line[] =>
    [...lines]
      .sort((a, b) => b.seq - a.seq)
      .filter((l) => q.fleet === undefined || l.fleet === q.fleet)
      .filter((l) => q.subject === undefined || l.subjects.includes(q.subject))
      .filter((l) => q.before === null || l.seq < q.before)
      .slice(0, q.limit);

/** Every page from the newest, following `next`, as `ingot history --before` does. */
function walk(lines: readonly Line[], query: Omit<HistoryPageQuery, 'before'>): number[][] {
  const read = store(lines);
  const pages: number[][] = [];
  for (let before: number | null = null; ;) {
    const page: HistoryPageQuery = { ...query, before };
    const { items, next } = pageBy(read({ ...page, limit: rowsFor(page) }), page, (l) => l.seq);
    pages.push(items.map((l) => l.seq));
    if (next === null) return pages;
    expect(before === null || next < before).toBe(true);
    before = next;
  }
}

const lines = fc.uniqueArray(fc.integer({ min: 1, max: 2000 }), { maxLength: 150 }).chain((seqs) =>
  fc.tuple(
    ...seqs.map((seq) =>
      fc.record({
        seq: fc.constant(seq),
        fleet: fc.constantFrom('web', 'api'),
        subjects: fc.subarray(['r1', 'r2', 'web-1']),
      }),
    ),
  ),
);

describe('paging the history', () => {
  it('visits every line asked once, newest first, in pages of at most the limit', () => {
    fc.assert(
      fc.property(
        lines,
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom(undefined, 'web', 'api'),
        fc.constantFrom(undefined, 'r1', 'web-1'),
        (all, limit, fleet, subject) => {
          const query = {
            limit,
            ...(fleet !== undefined && { fleet }),
            ...(fleet !== undefined && subject !== undefined && { subject }),
          };
          const pages = walk(all, query);
          const wanted = store(all)({ ...query, before: null, limit: Infinity });
          expect(pages.flat()).toEqual(wanted.map((l) => l.seq));
          for (const page of pages) expect(page.length).toBeLessThanOrEqual(limit);
          for (const page of pages.slice(0, -1)) expect(page).toHaveLength(limit);
          if (pages.length > 1) expect(pages.at(-1)!.length).toBeGreaterThan(0);
        },
      ),
    );
  });

  it("names a note's subjects and instance, once each; and the digests a line's text says", () => {
    const d = (c: string) => `sha256:${c.repeat(64)}`;
    expect(historySubjects({ subjects: [d('b'), d('a'), d('b')], instance: 'web-1' })).toEqual([
      d('a'),
      d('b'),
      'web-1',
    ]);
    expect(historySubjects({})).toEqual([]);
    expect(digestsIn(`${d('1')} → ${d('2')}: health failed`)).toEqual([d('1'), d('2')]);
    expect(digestsIn(`release ${d('1').slice(0, 19)} failed`)).toEqual([]);
    expect(digestsIn(d('f'))).toEqual([d('f')]);
  });
});

describe('the history query', () => {
  it(`takes a limit of 1 to ${MAX_HISTORY_PAGE}, any seq as before, a digest or an id as subject`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_HISTORY_PAGE }),
        fc.integer({ min: 1, max: 999_999_999_999_999 }),
        fc.oneof(
          fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`),
          fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,40}$/),
        ),
        (limit, before, subject) => {
          expect(
            historyQuery.parse({
              fleet: 'web',
              subject,
              limit: String(limit),
              before: String(before),
            }),
          ).toEqual({ fleet: 'web', subject, limit, before });
        },
      ),
    );
    expect(historyQuery.parse({})).toEqual({});
    expect(historyQuery.parse({ fleet: 'web' })).toEqual({ fleet: 'web' });
    expect(DEFAULT_HISTORY_PAGE).toBeLessThanOrEqual(MAX_HISTORY_PAGE);
  });

  it('refuses anything else: out of range, not digits, signed, padded, repeated, a subject alone', () => {
    const refused = (q: Record<string, unknown>) => !historyQuery.safeParse(q).success;
    fc.assert(
      fc.property(fc.integer({ min: MAX_HISTORY_PAGE + 1, max: 1e12 }), (n) =>
        refused({ limit: String(n) }),
      ),
    );
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/^[1-9]\d{0,14}$/.test(s)),
        (s) => refused({ limit: s }) && refused({ before: s }),
      ),
    );
    for (const bad of ['0', '-1', '+1', '01', '1.5', '1e2', ' 1', '0x10', '', '9999999999999999'])
      expect(refused({ limit: bad }) && refused({ before: bad }), bad).toBe(true);
    expect(refused({ limit: ['1', '2'] })).toBe(true);
    expect(refused({ before: ['1'] })).toBe(true);
    expect(refused({ fleet: ['web', 'api'] })).toBe(true);
    // A subject is looked up in one fleet's lines: alone, it is refused, not ignored.
    expect(refused({ subject: 'web-1' })).toBe(true);
    for (const bad of [
      'WEB',
      'sha256:abc',
      `sha256:${'A'.repeat(64)}`,
      'a b',
      '-x',
      'x'.repeat(200),
      'web\n1',
    ])
      expect(refused({ fleet: 'web', subject: bad }), bad).toBe(true);
  });
});
