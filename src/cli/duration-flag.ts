import { formatDuration, readDuration, type DurationLimits } from '../core/duration.js';
import { UsageError } from '../domain/errors.js';

/**
 * A flag's duration in ms, by the grammar fleet.yaml uses ("90", "90s", "2m", "1m30s", "1h",
 * "500ms"): a malformed one is a usage error that says why and what the flag takes.
 */
export function durationFlag(
  flag: string,
  raw: string,
  limits: DurationLimits & { readonly maxMs: number },
): number {
  const r = readDuration(raw, limits);
  if (r.ok) return r.ms;
  const bare = limits.bareUnitMs === 60_000 ? 'minutes' : 'seconds';
  throw new UsageError(
    `${flag} takes a duration such as 90s, 2m or 1m30s (a bare number is ${bare}), from ${formatDuration(limits.minMs ?? 0)} to ${formatDuration(limits.maxMs)}, got ${JSON.stringify(raw.slice(0, 100))} (${r.reason})`,
  );
}
