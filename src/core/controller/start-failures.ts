import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetNote } from '../fleet/record.js';
import { backoffDelay, START_BACKOFF, worthRecording } from './backoff.js';
import type { ControllerMemory, StartStreak } from './memory.js';

/** Rounds of failed starts in a row after which a release being rolled out has failed. */
export const START_FAILURES_TO_FAIL = 3;

/** The fleet's start streaks after this pass, and what they hold back and record. */
export interface StartVerdict {
  readonly streaks: readonly StartStreak[];
  readonly counted: readonly string[];
  /** Releases whose next start waits, with why (for the plan's reasons). */
  readonly held: ReadonlyMap<string, string>;
  /** The first failed round, then one at each power of two: never one per retry. */
  readonly notes: readonly FleetNote[];
}

/** An instance that never ran: the host refused it, or the runtime would not start it. */
export function failedToStart(i: ObservedInstance): boolean {
  return i.state === 'refused' || (i.state === 'failed' && i.startedAt === undefined);
}

const short = (release: string) => release.replace(/^sha256:/, '').slice(0, 12);

/**
 * Start failures, per release, from what is observed and what was remembered: a pass that
 * sees new instances of a release that never ran adds one to its streak (however many failed
 * together: they are one round of attempts); an instance of it that started after the last
 * failed round ends the streak. While a streak's back-off lasts, nothing of its release is
 * started. Only the releases in `releases` (the fleet's shape) keep a streak. Pure.
 */
export function judgeStarts(
  fleet: string,
  releases: readonly string[],
  memory: Pick<ControllerMemory, 'startStreaks' | 'startCounted'>,
  mine: readonly ObservedInstance[],
  now: number,
): StartVerdict {
  const counted = new Set(memory.startCounted);
  const fresh = new Map<string, ObservedInstance[]>();
  for (const i of mine)
    if (i.release !== undefined && failedToStart(i) && !counted.has(i.id)) {
      counted.add(i.id);
      fresh.set(i.release, [...(fresh.get(i.release) ?? []), i]);
    }
  const before = new Map(memory.startStreaks.map((s) => [s.release, s]));
  const streaks: StartStreak[] = [];
  const notes: FleetNote[] = [];
  for (const release of new Set(releases)) {
    const prev = before.get(release);
    const failed = fresh.get(release);
    if (failed) {
      const next: StartStreak = {
        release,
        failures: (prev?.failures ?? 0) + 1,
        lastAt: now,
        reason: (failed[0]!.reason ?? 'no reason given').slice(0, 4096),
      };
      streaks.push(next);
      if (worthRecording(next.failures)) notes.push(noteOf(fleet, next, failed));
    } else if (prev && !startedSince(mine, release, prev.lastAt)) streaks.push(prev);
  }
  const present = new Set(mine.map((i) => i.id));
  const held = new Map<string, string>();
  for (const s of streaks) {
    const until = s.lastAt + backoffDelay(START_BACKOFF, s.failures);
    if (now < until)
      held.set(
        s.release,
        `release ${short(s.release)} failed to start ${times(s.failures)} in a row (${s.reason}): next attempt in ${Math.ceil((until - now) / 1000)} s`,
      );
  }
  return { streaks, counted: [...counted].filter((id) => present.has(id)), held, notes };
}

/** Whether an instance of `release` started after `at`: the release can start after all. */
function startedSince(mine: readonly ObservedInstance[], release: string, at: number): boolean {
  return mine.some(
    (i) => i.release === release && i.startedAt !== undefined && Date.parse(i.startedAt) > at,
  );
}

const times = (n: number) => (n === 1 ? 'once' : `${n} times`);

function noteOf(fleet: string, s: StartStreak, failed: readonly ObservedInstance[]): FleetNote {
  const retryMs = backoffDelay(START_BACKOFF, s.failures);
  return {
    fleet,
    time: s.lastAt,
    kind: 'start-failed',
    summary: `release ${short(s.release)} failed to start ${times(s.failures)} in a row: ${s.reason}; next attempt in ${retryMs / 1000} s`,
    actor: 'controller',
    subjects: [...new Set([s.release, ...failed.map((i) => i.artifact)])]
      .filter((d) => d.startsWith('sha256:'))
      .sort(),
    detail: {
      release: s.release,
      failures: s.failures,
      reason: s.reason,
      retryInMs: retryMs,
      instances: failed.slice(0, 5).map((i) => i.id),
    },
  };
}
