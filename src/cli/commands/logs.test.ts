import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lastLines, logText } from './logs.js';

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

describe('logText', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  // "a\n" 10-11, "bb\n" 12-14, "c\n" 15-16: marks at 12 (1 s) and 15 (2 s), read at 9 s.
  const answer = {
    id: 'web-1',
    text: 'a\nbb\nc\n',
    start: 10,
    size: 17,
    marks: [
      { at: at(1), offset: 12 },
      { at: at(2), offset: 15 },
    ],
    at: at(9),
  };

  it('stamps the lines the tail keeps by their own offsets', () => {
    expect(logText(answer, { timestamps: true }, false)).toBe(
      `${at(1)} a\n${at(2)} bb\n${at(9)} c\n`,
    );
    expect(logText(answer, { tail: 1, timestamps: true }, false)).toBe(`${at(9)} c\n`);
    expect(logText(answer, { tail: 2, timestamps: false }, false)).toBe('bb\nc\n');
  });
});
