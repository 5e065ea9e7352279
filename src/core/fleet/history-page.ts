/**
 * Paging the fleets' history, newest first. Every step of every rollout adds lines and none is
 * pruned, so a long-lived system has millions: a reader asks for a page and the store reads
 * only that page (an index range on (fleet, seq), or on seq for every fleet).
 *
 * The cursor is the line's seq (`before`), as for releases (release-page.ts): seqs never
 * change, and a line written while someone pages gets a higher one, so it never shifts the
 * pages still to come. `subject` asks for the lines that name one digest or instance (a
 * release's deploy, steps, completion and rollbacks; an instance's taint and replacement),
 * from their own index, so `ingot describe release` reads a release's lines however old it is
 * and however many lines other releases added since.
 */

/** A page's size when none is asked. */
export const DEFAULT_HISTORY_PAGE = 50;
/** The most one page holds: a bound on what one request makes the store read and send. */
export const MAX_HISTORY_PAGE = 500;

/** Which page: at most `limit` lines, each with a seq below `before` (null: from the newest). */
export interface HistoryPageQuery {
  /** One fleet's lines (absent: every fleet's). */
  readonly fleet?: string;
  /** Only the lines that name this digest or instance id; needs `fleet`. */
  readonly subject?: string;
  readonly limit: number;
  readonly before: number | null;
}

/**
 * What a history line names, for `subject` queries: the note's subjects (release and artifact
 * digests) and its instance. Pure.
 */
export function historySubjects(note: {
  readonly subjects?: readonly string[];
  readonly instance?: string;
}): string[] {
  return [
    ...new Set([...(note.subjects ?? []), ...(note.instance === undefined ? [] : [note.instance])]),
  ]
    .filter((s) => s.length > 0)
    .sort();
}

/** Every digest a stored line's text names (lines written before subjects were kept). Pure. */
export const digestsIn = (detail: string): string[] => [
  ...new Set(detail.match(/sha256:[0-9a-f]{64}/g) ?? []),
];
