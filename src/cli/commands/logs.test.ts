import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lastLines } from './logs.js';

describe('lastLines', () => {
  it('keeps the last n lines, whole, as tail does', () => {
    expect(lastLines('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(lastLines('a\nb\nc', 2)).toBe('b\nc');
    expect(lastLines('a\nb\n', 5)).toBe('a\nb\n');
    expect(lastLines('a\n', 0)).toBe('');
    expect(lastLines('', 3)).toBe('');
    fc.assert(
      fc.property(
        fc.array(fc.string().map((s) => s.replace(/\n/g, ''))),
        fc.nat(20),
        (lines, n) => {
          const text = lines.map((l) => `${l}\n`).join('');
          expect(lastLines(text, n)).toBe(
            lines
              .slice(Math.max(0, lines.length - n))
              .map((l) => `${l}\n`)
              .join(''),
          );
        },
      ),
    );
  });
});
