import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logTail } from './log-tail.js';

describe('logTail', () => {
  it('keeps the last lines, says when earlier ones were left out', () => {
    expect(logTail('i', 'a\nb\nc\n', 2)).toEqual({ id: 'i', lines: ['b', 'c'], truncated: true });
    expect(logTail('i', 'a\nb', 5)).toEqual({ id: 'i', lines: ['a', 'b'], truncated: false });
    expect(logTail('i', '', 5).lines).toEqual([]);
  });
  it('marks control characters instead of passing them on', () => {
    expect(logTail('i', '\u001b[31mred\r\n').lines).toEqual(['\uFFFD[31mred']);
  });
  it('never keeps more than asked, nor a control character', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.integer({ min: 1, max: 20 }),
        (text, n) => {
          const t = logTail('i', text, n);
          expect(t.lines.length).toBeLessThanOrEqual(n);
          // eslint-disable-next-line no-control-regex
          for (const l of t.lines) expect(l).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f]/);
        },
      ),
    );
  });
});
