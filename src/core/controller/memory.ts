import * as z from 'zod';

/**
 * What the controller remembers of a fleet from one pass to the next. It is kept with the
 * fleet (not in the controller's memory), so a restart, or another controller taking over,
 * neither forgets a meltdown nor records an event twice.
 */
export interface ControllerMemory {
  /** When the fleet's instances were seen failed or unhealthy, within the guard's window. */
  readonly failures: readonly number[];
  /** Instances already counted among the failures: each counts once while it is observed. */
  readonly counted: readonly string[];
  /** Whether the meltdown guard holds the fleet (entering and leaving it are recorded). */
  readonly melting: boolean;
  /** Tainted instances whose taint was recorded, once each however long they take to go. */
  readonly taintNoted: readonly string[];
  /** Instances whose replacement was recorded. */
  readonly replacementNoted: readonly string[];
  /** Releases whose starts fail, in a row: what paces their retries and fails the rollout. */
  readonly startStreaks: readonly StartStreak[];
  /** Instances already counted in a start streak (each counts once while observed). */
  readonly startCounted: readonly string[];
  /** Releases whose instances start and then exit, in a row: what paces their restarts. */
  readonly crashStreaks: readonly CrashStreak[];
  /** Instances already counted in a crash streak (each counts once while observed). */
  readonly crashCounted: readonly string[];
}

/** A release whose instances ran and exited, crash after crash (crash-streaks.ts). */
export interface CrashStreak {
  readonly release: string;
  /** Its instances that exited on their own since the streak began. */
  readonly crashes: number;
  /** When the first and the last crash of the streak were seen (the window of the count). */
  readonly firstAt: number;
  readonly lastAt: number;
  /** How the last one ended ("exited 1", "killed by SIGKILL (out of memory)"). */
  readonly exit: string;
  /** The last line it wrote that says something, if any. */
  readonly said?: string;
}

/** A release whose last start attempts failed, each round of them counted once. */
export interface StartStreak {
  readonly release: string;
  /** Rounds of attempts in a row in which its instances failed to start. */
  readonly failures: number;
  /** When the last failed round was seen: the back-off counts from here. */
  readonly lastAt: number;
  /** Why the last round failed, as the host said. */
  readonly reason: string;
}

export const EMPTY_MEMORY: ControllerMemory = {
  failures: [],
  counted: [],
  melting: false,
  taintNoted: [],
  replacementNoted: [],
  startStreaks: [],
  startCounted: [],
  crashStreaks: [],
  crashCounted: [],
};

const schema = z.object({
  failures: z.array(z.number()).max(100_000),
  counted: z.array(z.string()).max(100_000),
  melting: z.boolean(),
  taintNoted: z.array(z.string()).max(100_000),
  replacementNoted: z.array(z.string()).max(100_000),
  // Absent in what older versions stored: no streak.
  startStreaks: z
    .array(
      z.object({
        release: z.string(),
        failures: z.number().int().min(1),
        lastAt: z.number(),
        reason: z.string().max(4096),
      }),
    )
    .max(64)
    .default([]),
  startCounted: z.array(z.string()).max(100_000).default([]),
  crashStreaks: z
    .array(
      z.object({
        release: z.string(),
        crashes: z.number().int().min(1),
        firstAt: z.number(),
        lastAt: z.number(),
        exit: z.string().max(200),
        said: z.string().max(1000).exactOptional(),
      }),
    )
    .max(64)
    .default([]),
  crashCounted: z.array(z.string()).max(100_000).default([]),
});

/** A stored memory; one that does not parse is forgotten (it only dedupes and paces). */
export function parseMemory(json: string): ControllerMemory {
  try {
    const parsed = schema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : EMPTY_MEMORY;
  } catch {
    return EMPTY_MEMORY;
  }
}

const sameList = <T>(
  a: readonly T[],
  b: readonly T[],
  same: (x: T, y: T) => boolean = (x, y) => x === y,
) => a.length === b.length && a.every((x, i) => same(x, b[i]!));

const sameStreak = (a: StartStreak, b: StartStreak) =>
  a.release === b.release &&
  a.failures === b.failures &&
  a.lastAt === b.lastAt &&
  a.reason === b.reason;

const sameCrash = (a: CrashStreak, b: CrashStreak) =>
  a.release === b.release &&
  a.crashes === b.crashes &&
  a.firstAt === b.firstAt &&
  a.lastAt === b.lastAt &&
  a.exit === b.exit &&
  a.said === b.said;

export function sameMemory(a: ControllerMemory, b: ControllerMemory): boolean {
  return (
    sameList(a.crashCounted, b.crashCounted) &&
    sameList(a.crashStreaks, b.crashStreaks, sameCrash) &&
    a.melting === b.melting &&
    sameList(a.failures, b.failures) &&
    sameList(a.counted, b.counted) &&
    sameList(a.taintNoted, b.taintNoted) &&
    sameList(a.replacementNoted, b.replacementNoted) &&
    sameList(a.startCounted, b.startCounted) &&
    sameList(a.startStreaks, b.startStreaks, sameStreak)
  );
}
