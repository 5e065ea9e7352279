import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseOctalMode, parseSize } from '../baseline/units.js';
import { parseDuration } from '../duration.js';
import { parseHostPort } from '../traffic/address.js';
import { DURATION_PATTERN, listenHint, MODE_PATTERN, SIZE_PATTERN } from './hints.js';

/*
 * A hint may be looser than the code it stands for, never stricter: every text the parser
 * accepts matches the pattern (an editor must not underline a file ingot accepts).
 */

const matches = (pattern: string) => (text: string) => new RegExp(pattern, 'u').test(text);

/** Texts near the grammar: digits, units, signs, spaces. */
const near = (alphabet: string[]) =>
  fc.array(fc.constantFrom(...alphabet), { maxLength: 14 }).map((a) => a.join(''));

describe('hints never refuse what the parsers accept', () => {
  it('durations', () => {
    const texts = near(['1', '0', '9', 'm', 's', 'h', 'd', ' ', '.', '-', 'x']);
    fc.assert(
      fc.property(texts, (t) => {
        if (parseDuration(t, { maxMs: Number.MAX_SAFE_INTEGER }) !== null)
          expect(matches(DURATION_PATTERN)(t)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(matches(DURATION_PATTERN)('2m')).toBe(true);
    expect(matches(DURATION_PATTERN)('1m30s')).toBe(true);
    expect(matches(DURATION_PATTERN)('2 minutes')).toBe(false);
  });

  it('sizes', () => {
    const texts = near(['1', '0', '6', '4', 'K', 'M', 'G', 'i', 'k', ' ', 'b']);
    fc.assert(
      fc.property(texts, (t) => {
        if (parseSize(t) !== null) expect(matches(SIZE_PATTERN)(t)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(matches(SIZE_PATTERN)('64Mi')).toBe(true);
  });

  it('modes', () => {
    const texts = near(['0', '7', '5', '4', '8', 'o', ' ', 'x']);
    fc.assert(
      fc.property(texts, (t) => {
        if (parseOctalMode(t) !== null) expect(matches(MODE_PATTERN)(t)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(matches(MODE_PATTERN)('0644')).toBe(true);
    expect(matches(MODE_PATTERN)('0844')).toBe(false);
  });

  it('listen addresses', () => {
    const pattern = listenHint['pattern'] as string;
    const texts = near(['1', '2', '7', '0', '5', '.', ':', ' ', 'a']);
    fc.assert(
      fc.property(texts, (t) => {
        if (parseHostPort(t) !== null) expect(matches(pattern)(t)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(matches(pattern)('127.0.0.1:18080')).toBe(true);
  });
});
