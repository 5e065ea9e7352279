/** Small parsers for the units people write in YAML. Each returns null on bad input. */

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
