import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fnv1a64 } from './fnv.js';

/** The textbook definition, with arbitrary-precision integers. */
function reference(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

describe('fnv1a64', () => {
  it('matches the arbitrary-precision definition', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        expect(fnv1a64(s)).toBe(reference(s));
      }),
      { numRuns: 2000 },
    );
  });
});
