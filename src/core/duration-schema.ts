import * as z from 'zod';
import { formatDuration, readDuration, type DurationLimits } from './duration.js';

/**
 * A YAML duration field ("30s", "1m30s", 90): milliseconds once parsed, refused with the
 * reason (negative, not a duration, out of bounds) and the bounds it takes.
 */
export function durationField(limits: DurationLimits & { readonly maxMs: number }) {
  const range =
    limits.minMs !== undefined && limits.minMs > 0
      ? `from ${formatDuration(limits.minMs)} to ${formatDuration(limits.maxMs)}`
      : `of at most ${formatDuration(limits.maxMs)}`;
  return z.union([z.string(), z.number()]).transform((raw, ctx) => {
    const r = readDuration(raw, limits);
    if (!r.ok) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration ${range} such as "500ms", "30s", "1m30s" or "2h" (${r.reason}), got ${JSON.stringify(raw)}`,
      });
      return z.NEVER;
    }
    return r.ms;
  });
}
