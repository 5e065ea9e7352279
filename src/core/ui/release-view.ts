import type { Digest } from '../../domain/digest.js';
import { isDigest } from '../../domain/digest.js';
import type { HistoryEntry, NumberedRelease } from '../fleet/record.js';
import { releaseDiff, type ReleaseDiff } from '../fleet/release-diff.js';

/** One line of a fleet's history as the dashboard shows it: times in RFC 3339. */
export interface UiHistoryLine {
  readonly seq: number;
  readonly time: string;
  readonly kind: string;
  readonly actor: string;
  readonly detail: string;
  readonly reason?: string;
}

/** A moment the fleet was pointed at a release (a deploy, a rollback, an abort). */
export interface UiReleaseChange {
  readonly seq: number;
  readonly time: string;
  readonly kind: string;
  /** Who: "admin", "controller", `server@NAME`. */
  readonly actor: string;
  /** Why, when the history has it (rollbacks; a deploy records none). */
  readonly reason?: string;
  readonly from: Digest | null;
  readonly to: Digest;
  /** `to`'s number, as `ingot describe release FLEET@N` names it (null: the store lacks it). */
  readonly number: number | null;
  /** Against the release before (null for the first, or a release the store lacks). */
  readonly diff: ReleaseDiff | null;
}

export interface UiReleases {
  readonly fleet: string;
  /** Newest first. */
  readonly changes: readonly UiReleaseChange[];
  /** The fleet's history, newest first, at most `MAX_HISTORY` lines. */
  readonly history: readonly UiHistoryLine[];
}

export const MAX_HISTORY = 200;
export const MAX_CHANGES = 50;

const iso = (ms: number): string => new Date(ms).toISOString();

/** `sha256:X → sha256:Y: why` (transitions.ts rolledBack's line): the two releases. */
const MOVED = /^(sha256:[0-9a-f]{64}) → (sha256:[0-9a-f]{64})\b/;

/**
 * Where each release change took the fleet, oldest first, parsed from its history. `older`:
 * the history read is the newest page and lines before it exist, so where the fleet stood
 * before the page's first change is unknown (`from` undefined), not "nowhere" (a first
 * release). Pure.
 */
export function releaseChanges(
  history: readonly HistoryEntry[],
  older = false,
): { entry: HistoryEntry; from: Digest | null | undefined; to: Digest }[] {
  const out: { entry: HistoryEntry; from: Digest | null | undefined; to: Digest }[] = [];
  let at: Digest | null | undefined = older ? undefined : null;
  for (const e of [...history].sort((a, b) => a.seq - b.seq)) {
    let to: Digest | null = null;
    let from: Digest | null | undefined = at;
    if (e.kind === 'deploy' && isDigest(e.detail)) to = e.detail;
    else {
      const m = MOVED.exec(e.detail);
      if (m && isDigest(m[1]!) && isDigest(m[2]!)) [from, to] = [m[1], m[2]];
    }
    if (to === null) continue;
    out.push({ entry: e, from, to });
    at = to;
  }
  return out;
}

/** The digests whose records `releasesView` wants (the last MAX_CHANGES changes'). Pure. */
export function wantedReleases(history: readonly HistoryEntry[], older = false): Digest[] {
  const wanted = new Set<Digest>();
  for (const c of releaseChanges(history, older).slice(-MAX_CHANGES)) {
    wanted.add(c.to);
    if (c.from !== null && c.from !== undefined) wanted.add(c.from);
  }
  return [...wanted];
}

/**
 * A fleet's releases view: each change with its diff against the release before (reusing the
 * plan's releaseDiff: env names only, never values, whoever looks), and the history: its
 * newest lines (at most MAX_HISTORY, one page read), `older` when more came before them. Pure.
 */
export function releasesView(
  fleet: string,
  history: readonly HistoryEntry[],
  releases: ReadonlyMap<string, NumberedRelease>,
  older = false,
): UiReleases {
  const changes = releaseChanges(history, older)
    .slice(-MAX_CHANGES)
    .map(({ entry, from, to }): UiReleaseChange => {
      const next = releases.get(to);
      const before = from === null || from === undefined ? undefined : releases.get(from);
      // `from` unknown (before the lines read): no diff rather than a false "first release".
      const diff =
        next === undefined || from === undefined || (from !== null && before === undefined)
          ? null
          : releaseDiff(
              before === undefined
                ? null
                : { spec: before.spec, release: before.digest, artifact: before.artifact },
              next,
            );
      return {
        seq: entry.seq,
        time: iso(entry.time),
        kind: entry.kind,
        actor: entry.actor,
        ...(entry.reason !== undefined && { reason: entry.reason }),
        from: from ?? null,
        to,
        number: next?.number ?? null,
        diff,
      };
    })
    .reverse();
  const lines = [...history]
    .sort((a, b) => b.seq - a.seq)
    .slice(0, MAX_HISTORY)
    .map((e): UiHistoryLine => ({
      seq: e.seq,
      time: iso(e.time),
      kind: e.kind,
      actor: e.actor,
      detail: e.detail,
      ...(e.reason !== undefined && { reason: e.reason }),
    }));
  return { fleet, changes, history: lines };
}
