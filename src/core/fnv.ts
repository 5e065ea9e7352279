/**
 * 64-bit FNV-1a over a string's UTF-16 code units, as 16 hex digits. A fast, stable,
 * non-cryptographic fingerprint for naming things (never for integrity). The state is kept
 * in two 32-bit halves: the prime is 2^40 + 0x1b3, so a multiply is lo*0x1b3 with its
 * carry, plus hi*0x1b3, plus lo shifted into the high half.
 */
export function fnv1a64(text: string): string {
  let lo = 0x84222325;
  let hi = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    lo = (lo ^ text.charCodeAt(i)) >>> 0;
    const low = lo * 0x1b3;
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + Math.floor(low / 2 ** 32)) >>> 0;
    lo = low >>> 0;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
