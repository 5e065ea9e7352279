/**
 * Durations as people write them, one grammar for fleet.yaml, ingot.yaml and every CLI flag
 * that takes a time: "90" (seconds, unless the caller says another unit), "90s", "2m",
 * "1m30s", "1h", "500ms", "7d". Units go from the largest to the smallest, each at most once.
 * The text is hostile (a flag, a YAML value): bounded before any arithmetic, and every
 * refusal says why.
 */

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;
const UNIT_MS: ReadonlyMap<string, number> = new Map(UNITS);
const ORDER: ReadonlyMap<string, number> = new Map(UNITS.map(([u], n) => [u, n]));

export const SECOND_MS = 1000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Longer than any duration anyone means; the text itself is refused past this. */
const MAX_TEXT = 64;
const PART = /(\d{1,12})(ms|s|m|h|d)/y;

export interface DurationLimits {
  /** The longest accepted, in ms (a day unless said). */
  readonly maxMs?: number;
  /** The shortest accepted, in ms (0 unless said). */
  readonly minMs?: number;
  /** What a bare number counts (seconds unless said: `--verify-interval 5` means minutes). */
  readonly bareUnitMs?: number;
}

export type DurationResult =
  { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): DurationResult => ({ ok: false, reason });

/**
 * A duration in milliseconds, or why it is not one (negative, not a duration, out of
 * bounds). A number (YAML gives one for `timeout: 90`) counts in `bareUnitMs` and may have a
 * fraction; text is whole numbers with units. Pure.
 */
export function readDuration(raw: string | number, limits: DurationLimits = {}): DurationResult {
  const maxMs = limits.maxMs ?? DAY_MS;
  const minMs = limits.minMs ?? 0;
  const bare = limits.bareUnitMs ?? SECOND_MS;
  let ms: number;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return refuse('not a finite number');
    if (raw < 0) return refuse('a duration cannot be negative');
    ms = Math.round(raw * bare) + 0; // never -0
  } else {
    const text = raw.trim();
    if (text.length > MAX_TEXT) return refuse('too long to be a duration');
    if (text.startsWith('-')) return refuse('a duration cannot be negative');
    const parsed = /^\d{1,12}$/.test(text) ? Number(text) * bare : sumOfParts(text);
    if (parsed === null) return refuse('not a duration');
    ms = parsed;
  }
  if (!Number.isSafeInteger(ms) || ms > maxMs)
    return refuse(`longer than ${formatDuration(maxMs)}`);
  if (ms < minMs) return refuse(`shorter than ${formatDuration(minMs)}`);
  return { ok: true, ms };
}

/** "1h2m3s" → ms, or null unless the whole text is parts with units in descending order. */
function sumOfParts(text: string): number | null {
  if (text === '') return null;
  let at = 0;
  let last = -1;
  let total = 0;
  PART.lastIndex = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (!m) return null;
    const rank = ORDER.get(m[2]!)!;
    // "30s1m" or "1m1m" are more likely typos than intent.
    if (rank <= last) return null;
    last = rank;
    total += Number(m[1]) * UNIT_MS.get(m[2]!)!;
    at = PART.lastIndex;
  }
  return total;
}

/** readDuration's answer as a number, or null: for schemas that word their own message. */
export function parseDuration(raw: string | number, limits: DurationLimits = {}): number | null {
  const r = readDuration(raw, limits);
  return r.ok ? r.ms : null;
}

/**
 * ms → the shortest text readDuration reads back as the same ms: "1m30s", "500ms", "0s".
 * Negative or fractional input is clamped and rounded (a display, not a refusal). Pure.
 */
export function formatDuration(ms: number): string {
  let left = Math.max(0, Math.round(ms));
  if (left === 0) return '0s';
  let text = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(left / size);
    if (n > 0) {
      text += `${n}${unit}`;
      left -= n * size;
    }
  }
  return text;
}
