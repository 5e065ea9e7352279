import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changeReason } from './fleets.js';

describe('a reason given by hand', () => {
  it('takes words, punctuation and any script, up to 300 characters', () => {
    for (const ok of ['canary 5xx at 2 % (INC-42)', 'déploiement du soir', '回滚：错误率高', 'a'])
      expect(changeReason.safeParse(ok).success).toBe(true);
    expect(changeReason.safeParse('x'.repeat(300)).success).toBe(true);
    expect(changeReason.safeParse('x'.repeat(301)).success).toBe(false);
    expect(changeReason.safeParse('').success).toBe(false);
  });

  it('refuses anything invisible that changes what is read, wherever it is', () => {
    const hidden = fc.constantFrom(
      '\u001b', // ESC: terminal escape sequences
      '\n',
      '\r',
      '\u0000',
      '\u202e', // right-to-left override
      '\u2066', // left-to-right isolate
      '\u200b', // zero-width space
      '\u2028', // line separator
      '\u2029', // paragraph separator
      '\ud800', // a lone surrogate
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), hidden, fc.string({ maxLength: 20 }), (a, h, b) => {
        expect(changeReason.safeParse(`${a}${h}${b}`).success).toBe(false);
      }),
    );
  });
});
