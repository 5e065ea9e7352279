import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetNote } from '../fleet/record.js';
import { exitStatusText } from '../runtime/exit.js';
import { backoffDelay, CRASH_BACKOFF } from './backoff.js';
import type { ControllerMemory, CrashStreak } from './memory.js';

/** Crashes in a row after which a release being rolled out has failed. */
export const CRASHES_TO_FAIL = 3;

/**
 * How long an instance of a release must have been healthy, after its last crash, for the
 * streak to end: one that serves a second and dies must still back off (Kubernetes resets
 * its crash back-off only after a pod ran 10 min; a rollout cannot wait that long).
 */
export const CRASH_RESET_MS = CRASH_BACKOFF.firstMs;

/** The fleet's crash streaks after this pass, and what they hold back and record. */
export interface CrashVerdict {
  readonly streaks: readonly CrashStreak[];
  readonly counted: readonly string[];
  /** Releases whose next start waits, with why (for the plan's reasons and `ingot status`). */
  readonly held: ReadonlyMap<string, string>;
  /** The first crash, then one at each power of two: never one per restart. */
  readonly notes: readonly FleetNote[];
}

/** An instance that ran, and whose process then ended on its own. */
export function crashed(i: ObservedInstance): boolean {
  return i.state === 'failed' && i.startedAt !== undefined;
}

const short = (release: string) => release.replace(/^sha256:/, '').slice(0, 12);

/**
 * What `ingot status` and a failed rollout say of a streak: "crash-looping: exited 1,
 * 4 times in 40 s: ModuleNotFoundError: No module named 'http'". Pure.
 */
export function crashLine(s: CrashStreak): string {
  const count =
    s.crashes === 1
      ? 'once'
      : `${s.crashes} times in ${Math.round((s.lastAt - s.firstAt) / 1000)} s`;
  return `crash-looping: ${s.exit}, ${count}${s.said !== undefined ? `: ${s.said}` : ''}`;
}

/**
 * Crashes, per release, from what is observed and what was remembered: each instance of a
 * release seen exited (having run) adds one to its streak, once however long it stays
 * observed; an instance of it healthy for CRASH_RESET_MS since the last crash ends the
 * streak. While a streak's back-off lasts (10 s after the first crash, doubling to 5 min),
 * nothing of its release is started. Only the releases in `releases` keep a streak. Pure.
 */
export function judgeCrashes(
  fleet: string,
  releases: readonly string[],
  memory: Pick<ControllerMemory, 'crashStreaks' | 'crashCounted'>,
  mine: readonly ObservedInstance[],
  now: number,
): CrashVerdict {
  const counted = new Set(memory.crashCounted);
  const fresh = new Map<string, ObservedInstance[]>();
  for (const i of mine)
    if (i.release !== undefined && crashed(i) && !counted.has(i.id)) {
      counted.add(i.id);
      fresh.set(i.release, [...(fresh.get(i.release) ?? []), i]);
    }
  const before = new Map(memory.crashStreaks.map((s) => [s.release, s]));
  const streaks: CrashStreak[] = [];
  const notes: FleetNote[] = [];
  for (const release of new Set(releases)) {
    const prev = before.get(release);
    const exited = fresh.get(release);
    if (exited) {
      const last = exited[exited.length - 1]!;
      const said = last.exit?.lastLine?.slice(0, 1000);
      const next: CrashStreak = {
        release,
        crashes: (prev?.crashes ?? 0) + exited.length,
        firstAt: prev?.firstAt ?? now,
        lastAt: now,
        exit: last.exit ? exitStatusText(last.exit) : 'exited (status unknown)',
        ...(said !== undefined && { said }),
      };
      streaks.push(next);
      if (crossesPowerOfTwo(prev?.crashes ?? 0, next.crashes))
        notes.push(noteOf(fleet, next, exited));
    } else if (prev && !servedSince(mine, release, prev.lastAt, now)) streaks.push(prev);
  }
  const present = new Set(mine.map((i) => i.id));
  const held = new Map<string, string>();
  for (const s of streaks) {
    const until = s.lastAt + backoffDelay(CRASH_BACKOFF, s.crashes);
    if (now < until)
      held.set(
        s.release,
        `${crashLine(s)} (release ${short(s.release)}): next start in ${Math.ceil((until - now) / 1000)} s`,
      );
  }
  return { streaks, counted: [...counted].filter((id) => present.has(id)), held, notes };
}

/**
 * Whether a count going from `from` to `to` reached 1 or a power of two on the way (several
 * instances may crash in one pass). Pure.
 */
export function crossesPowerOfTwo(from: number, to: number): boolean {
  if (!(to > from) || !(to >= 1)) return false;
  const below = (n: number) => (n < 1 ? 0 : Math.floor(Math.log2(n)) + 1);
  return below(to) > below(from);
}

/** Whether an instance of `release` has been healthy for CRASH_RESET_MS since `at`. */
function servedSince(
  mine: readonly ObservedInstance[],
  release: string,
  at: number,
  now: number,
): boolean {
  return mine.some((i) => {
    if (i.release !== release || i.state !== 'healthy' || i.healthySince === undefined)
      return false;
    const since = Date.parse(i.healthySince);
    return since > at && now - since >= CRASH_RESET_MS;
  });
}

function noteOf(fleet: string, s: CrashStreak, exited: readonly ObservedInstance[]): FleetNote {
  const retryMs = backoffDelay(CRASH_BACKOFF, s.crashes);
  return {
    fleet,
    time: s.lastAt,
    kind: 'crash',
    summary: `${crashLine(s)} (release ${short(s.release)}, ${exited
      .slice(0, 3)
      .map((i) => i.id)
      .join(', ')}); next start in ${retryMs / 1000} s`,
    actor: 'controller',
    ledgerKind: 'instance-crashed',
    subjects: [...new Set([s.release, ...exited.map((i) => i.artifact)])]
      .filter((d) => d.startsWith('sha256:'))
      .sort(),
    detail: {
      release: s.release,
      crashes: s.crashes,
      exit: s.exit,
      ...(s.said !== undefined && { said: s.said }),
      retryInMs: retryMs,
      instances: exited.slice(0, 5).map((i) => ({
        id: i.id,
        ...(i.exit !== undefined && {
          ...(i.exit.code !== undefined && { code: i.exit.code }),
          ...(i.exit.signal !== undefined && { signal: i.exit.signal }),
          oomKilled: i.exit.oomKilled,
        }),
      })),
    },
  };
}
