import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seenAt, type LogMark } from './log-marks.js';
import { answerLog, lineStartFrom, sliceLog } from './log-slice.js';

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

/** Marks as an agent makes them (forward in time and offset), some maybe past the log's end. */
const marksArb = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 40 })), {
    maxLength: 30,
  })
  .map((steps) => {
    let at = 1_700_000_000_000;
    let offset = 0;
    return steps.map(([dt, grew]): LogMark => ({ at: (at += dt), offset: (offset += grew) }));
  });

/** Lines of text with multi-byte characters, some without a final newline. */
const logArb = fc
  .array(fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\n'), maxLength: 12 }), {
    maxLength: 30,
  })
  .map((parts) => bytes(parts.join('')));

const NOW = 2_000_000_000_000;
const since = (ms: number) => new Date(ms).toISOString();

/** The offsets where a line begins. */
function lineStarts(log: Uint8Array): number[] {
  const starts: number[] = [];
  for (let p = 0; p < log.length; p++) if (p === 0 || log[p - 1] === 0x0a) starts.push(p);
  return starts;
}

describe('answerLog --since', () => {
  it('starts at a line start: every line shown was seen at or after the time, none left out', () => {
    fc.assert(
      fc.property(
        logArb,
        marksArb,
        fc.integer({ min: 1_699_999_990_000, max: 1_700_000_400_000 }),
        (log, marks, t) => {
          const answer = answerLog('i', log, marks, { since: since(t) }, NOW, 1 << 20);
          expect(answer.start).toBeLessThanOrEqual(log.length);
          // A line start (or the end): never mid-line, never mid-character.
          expect(answer.start === log.length || lineStarts(log).includes(answer.start)).toBe(true);
          expect(answer.text).toBe(Buffer.from(log.subarray(answer.start)).toString('utf8'));
          // Stamped by the marks that point into this log (those past its end are ignored).
          const within = marks.filter((m) => m.offset <= log.length);
          for (const p of lineStarts(log))
            if (p >= answer.start) expect(seenAt(within, p, NOW)).toBeGreaterThanOrEqual(t);
            else expect(seenAt(within, p, NOW)).toBeLessThan(t);
        },
      ),
    );
  });

  it('marks past the end of the bytes read (a rotation in between) are ignored', () => {
    fc.assert(
      fc.property(logArb, marksArb, fc.nat(400_000), (log, marks, dt) => {
        const answer = answerLog(
          'i',
          log,
          marks,
          { since: since(1_700_000_000_000 + dt), marks: '1' },
          NOW,
          1 << 20,
        );
        expect(answer.start).toBeLessThanOrEqual(log.length);
        for (const m of answer.marks ?? []) expect(m.offset).toBeLessThanOrEqual(log.length);
      }),
    );
    // The marks of the log before a rotation: the last points past the bytes. Trusted, the
    // start (50) would be past the end, read as "rotated since": the whole log.
    const log = bytes('old\nnew line\n');
    const stale = [
      { at: 1000, offset: 4 },
      { at: 2000, offset: 50 },
    ];
    const answer = answerLog('i', log, stale, { since: since(3000) }, NOW, 1 << 20);
    expect(answer).toMatchObject({ start: 4, text: 'new line\n' });
  });

  it('a mark inside a line or a character starts at the next line', () => {
    const log = bytes('seen before\n€ after\nlast\n');
    // Byte 13 is inside "€" (bytes 12-14): the line it is in began before the mark.
    const marks = [
      { at: 1000, offset: 13 },
      { at: 2000, offset: 27 },
    ];
    const answer = answerLog('i', log, marks, { since: since(1500) }, NOW, 1 << 20);
    expect(answer).toMatchObject({ start: 22, text: 'last\n' });
    expect(lineStartFrom(log, 12)).toBe(12);
    expect(lineStartFrom(log, 0)).toBe(0);
    expect(lineStartFrom(bytes('no newline'), 3)).toBe(10);
  });
});
