import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sliceLog } from './log-slice.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('sliceLog', () => {
  it("reading from each answer's size gives the log once, in order, as it grows", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary-ascii', maxLength: 50 }), { maxLength: 20 }),
        (writes) => {
          let log = '';
          let from: number | undefined;
          let seen = '';
          for (const w of writes) {
            log += w;
            const answer = sliceLog('i', bytes(log), from, 1 << 20);
            seen += answer.text;
            from = answer.size;
          }
          expect(seen).toBe(log);
        },
      ),
    );
  });

  it('never carries more than the last max bytes', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary-ascii', maxLength: 200 }),
        fc.nat(200),
        fc.option(fc.nat(300)),
        (log, max, from) => {
          const answer = sliceLog('i', bytes(log), from ?? undefined, max);
          expect(Buffer.byteLength(answer.text)).toBeLessThanOrEqual(max);
          expect(answer.size).toBe(log.length);
          expect(log.endsWith(answer.text)).toBe(true);
        },
      ),
    );
  });

  it('a log shorter than the offset was rotated: it starts over', () => {
    expect(sliceLog('i', bytes('new'), 100, 1024)).toEqual({
      id: 'i',
      text: 'new',
      start: 0,
      size: 3,
    });
  });
});
