import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { releasesQuery } from '../api/fleets.js';
import {
  DEFAULT_RELEASE_PAGE,
  MAX_RELEASE_PAGE,
  pageOf,
  rowsFor,
  type ReleasePageQuery,
} from './release-page.js';

/** What the store answers (ports/fleet-store.ts): below `before`, newest first, `limit` rows. */
const store =
  (numbers: readonly number[]) =>
  (q: ReleasePageQuery): { number: number }[] =>
    [...numbers]
      .sort((a, b) => b - a)
      .filter((n) => q.before === null || n < q.before)
      .slice(0, q.limit)
      .map((number) => ({ number }));

/** Every page from the newest, following `next`, as a reader would. */
function walk(numbers: readonly number[], limit: number): number[][] {
  const read = store(numbers);
  const pages: number[][] = [];
  let before: number | null = null;
  for (;;) {
    const query: ReleasePageQuery = { limit, before };
    const page = pageOf(read({ ...query, limit: rowsFor(query) }), query);
    pages.push(page.items.map((r) => r.number));
    if (page.next === null) return pages;
    // Each page strictly older than the last: a walk always ends.
    expect(before === null || page.next < before).toBe(true);
    before = page.next;
  }
}

describe("paging a fleet's releases", () => {
  it('visits every release once, newest first, in pages of at most the limit, and says when it is done', () => {
    fc.assert(
      fc.property(
        // Numbers as the store gives them (1…N), or with gaps (were releases ever pruned).
        fc.uniqueArray(fc.integer({ min: 1, max: 400 }), { maxLength: 120 }),
        fc.integer({ min: 1, max: 40 }),
        (numbers, limit) => {
          const pages = walk(numbers, limit);
          expect(pages.flat()).toEqual([...numbers].sort((a, b) => b - a));
          for (const page of pages) expect(page.length).toBeLessThanOrEqual(limit);
          // Only the last page may be short, and no page after the first is empty.
          for (const page of pages.slice(0, -1)) expect(page).toHaveLength(limit);
          if (pages.length > 1) expect(pages.at(-1)!.length).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('says there is no next page when the rows fit, even exactly', () => {
    const query = { limit: 3, before: null };
    expect(pageOf([{ number: 3 }, { number: 2 }, { number: 1 }], query)).toEqual({
      items: [{ number: 3 }, { number: 2 }, { number: 1 }],
      next: null,
    });
    expect(
      pageOf(
        [4, 3, 2, 1].map((number) => ({ number })),
        query,
      ).next,
    ).toBe(2);
    expect(pageOf([], query)).toEqual({ items: [], next: null });
  });
});

describe('the releases query', () => {
  it(`takes a limit of 1 to ${MAX_RELEASE_PAGE} and any release number as before`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_RELEASE_PAGE }),
        fc.integer({ min: 1, max: 999_999_999 }),
        (limit, before) => {
          expect(releasesQuery.parse({ limit: String(limit), before: String(before) })).toEqual({
            limit,
            before,
          });
        },
      ),
    );
    expect(releasesQuery.parse({})).toEqual({});
    expect(DEFAULT_RELEASE_PAGE).toBeLessThanOrEqual(MAX_RELEASE_PAGE);
  });

  it('refuses anything else: out of range, not digits, signed, padded, repeated', () => {
    const refused = (q: Record<string, unknown>) => !releasesQuery.safeParse(q).success;
    fc.assert(
      fc.property(fc.integer({ min: MAX_RELEASE_PAGE + 1, max: 1e9 }), (n) =>
        refused({ limit: String(n) }),
      ),
    );
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/^[1-9]\d{0,8}$/.test(s)),
        (s) => refused({ limit: s }) && refused({ before: s }),
      ),
    );
    for (const bad of ['0', '-1', '+1', '01', '1.5', '1e2', ' 1', '0x10', ''])
      expect(refused({ limit: bad }) && refused({ before: bad }), bad).toBe(true);
    expect(refused({ limit: ['1', '2'] })).toBe(true);
    expect(refused({ before: ['1'] })).toBe(true);
  });
});
