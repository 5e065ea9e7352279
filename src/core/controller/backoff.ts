/**
 * How long to wait before trying again after failures in a row: the first delay, doubled at
 * each failure after that, never more than the cap. One policy for every retry loop the
 * controller runs, so that none of them spins at the speed of its loop. Pure.
 */
export interface Backoff {
  readonly firstMs: number;
  readonly maxMs: number;
}

/** Starts that fail (refused on the host, refused by runc): 2 s, 4 s, 8 s … up to 5 min. */
export const START_BACKOFF: Backoff = { firstMs: 2_000, maxMs: 300_000 };

/** Instances that start and then exit (crash loops): 10 s doubling to 5 min. */
export const CRASH_BACKOFF: Backoff = { firstMs: 10_000, maxMs: 300_000 };

/** The wait after `failures` failures in a row (0 after none). */
export function backoffDelay(policy: Backoff, failures: number): number {
  if (!(failures >= 1)) return 0;
  // Capped before it is computed: 2 ** 1000 is Infinity, and a count is attacker-paced.
  const doublings = Math.min(failures - 1, 40);
  return Math.min(policy.maxMs, policy.firstMs * 2 ** doublings);
}

/**
 * Whether the `failures`-th failure in a row is worth a record of its own: the first, then at
 * each power of two (2, 4, 8 …). One cause that repeats for ever leaves a number of records
 * that grows with the logarithm of its retries, each carrying the count, never one per retry.
 */
export function worthRecording(failures: number): boolean {
  return Number.isSafeInteger(failures) && failures >= 1 && (failures & (failures - 1)) === 0;
}
