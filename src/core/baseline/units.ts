/** Small parsers for the units people write in YAML. Each returns null on bad input. */

const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
export const DAY_MS = 86_400_000;

/**
 * "500ms", "5s", "2m", "1h", "7d"; a bare number means seconds. In milliseconds, or null
 * if it is not a duration or longer than `maxMs` (a day unless said).
 */
export function parseDuration(raw: string | number, maxMs = DAY_MS): number | null {
  let ms: number;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) return null;
    ms = Math.round(raw * 1000) + 0; // never -0
  } else {
    const m = DURATION.exec(raw.trim());
    if (!m) return null;
    ms = Number(m[1]) * (UNIT_MS[m[2]!] ?? NaN);
  }
  return ms <= maxMs ? ms : null;
}

const SIZE = /^(\d{1,12})(Ki|Mi|Gi|k|M|G)?$/;
const UNIT_BYTES: Record<string, number> = {
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
};

/** "64Mi", "1G", or a number of bytes. */
export function parseSize(raw: string | number): number | null {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw > 0 ? raw : null;
  const m = SIZE.exec(raw.trim());
  if (!m) return null;
  const bytes = Number(m[1]) * (m[2] ? (UNIT_BYTES[m[2]] ?? 1) : 1);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
}

/** "0644", "644", "4755", "0o755": octal, at most 0o7777. */
export function parseOctalMode(raw: string): number | null {
  const m = /^(?:0o)?([0-7]{3,4})$/.exec(raw.trim());
  if (!m?.[1]) return null;
  return parseInt(m[1], 8);
}

export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
