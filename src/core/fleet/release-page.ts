/**
 * Paging a fleet's releases, newest first. Releases are never pruned: a fleet deployed 10,000
 * times has 10,000 of them, so a reader asks for a page and the store reads only that page
 * (an index range on (fleet, number)).
 *
 * Newest first, because every reader starts there: `describe release` and the dashboard show
 * what runs now and what came just before it. The cursor is a release number (`before`), not
 * an offset: numbers never change, and a release made while someone pages gets a higher
 * number, so it never shifts the pages already read or still to come.
 */

/** A page's size when none is asked. */
export const DEFAULT_RELEASE_PAGE = 50;
/**
 * The most one page holds: a bound on what one request makes the store read and send. Each
 * release carries its whole spec (a request body of up to 1 MiB made it), so the bound is
 * kept to 100: pages of at most ~100 MiB even for an admin who deploys the largest specs.
 */
export const MAX_RELEASE_PAGE = 100;

/** Which page: at most `limit` releases, each numbered below `before` (null: from the newest). */
export interface ReleasePageQuery {
  readonly limit: number;
  readonly before: number | null;
}

/** One page, newest first, and the `before` that asks the page after it (null: the last). */
export interface Page<T> {
  readonly items: T[];
  readonly next: number | null;
}

/**
 * How many rows to read for a page: one past it, which says whether another page follows
 * without counting the fleet's releases. Pure.
 */
export const rowsFor = (query: { readonly limit: number }): number => query.limit + 1;

/**
 * The page made of the rows read for it (newest first, at most `rowsFor(query)` of them): the
 * first `limit`, and, when a row is left over, the key the next page is asked `before` (the
 * last item's: a release's number, a history line's seq). Pure.
 */
export function pageBy<T>(
  rows: readonly T[],
  query: { readonly limit: number },
  key: (item: T) => number,
): Page<T> {
  const items = rows.slice(0, query.limit);
  const last = items.at(-1);
  return { items, next: rows.length > query.limit && last !== undefined ? key(last) : null };
}

/** A page of releases, whose cursor is the release number. Pure. */
export const pageOf = <T extends { readonly number: number }>(
  rows: readonly T[],
  query: ReleasePageQuery,
): Page<T> => pageBy(rows, query, (r) => r.number);
