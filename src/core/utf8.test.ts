import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8 } from './utf8.js';

const strict = new TextDecoder('utf-8', { fatal: true });
const decodes = (b: Uint8Array) => {
  try {
    strict.decode(b);
    return true;
  } catch {
    return false;
  }
};

describe('firstInvalidUtf8', () => {
  it('finds the start of the first bad sequence', () => {
    const at = (hex: string) => firstInvalidUtf8(Buffer.from(hex, 'hex'));
    expect(at('')).toBe(-1);
    expect(at(Buffer.from('héllo ✓ 𝄞').toString('hex'))).toBe(-1);
    expect(at('61ff62')).toBe(1); // a byte UTF-8 never uses
    expect(at('6162c3')).toBe(2); // cut short
    expect(at('c0af')).toBe(0); // overlong "/"
    expect(at('e080af')).toBe(0); // overlong
    expect(at('eda080')).toBe(0); // a surrogate
    expect(at('f4908080')).toBe(0); // past U+10FFFF
    expect(at('41e9')).toBe(1); // Latin-1 é
  });

  it('agrees with a strict decoder on any bytes, and what precedes the bad byte decodes', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.string({ unit: 'binary', maxLength: 32 }).map((s) => new Uint8Array(Buffer.from(s))),
      fc
        .tuple(fc.string({ unit: 'binary', maxLength: 16 }), fc.uint8Array({ maxLength: 4 }))
        .map(([s, tail]) => new Uint8Array([...Buffer.from(s), ...tail])),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const at = firstInvalidUtf8(b);
        expect(at === -1).toBe(decodes(b));
        if (at >= 0) expect(decodes(b.subarray(0, at))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});
