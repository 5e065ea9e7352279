import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandLine, parseSessionQuery, sessionQuery, type SessionRequest } from './request.js';

// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;
const word = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !CONTROL.test(s));
const request: fc.Arbitrary<SessionRequest> = fc.record({
  command: fc.array(word, { minLength: 1, maxLength: 8 }),
  terminal: fc.option(
    fc.record({ cols: fc.integer({ min: 1, max: 9999 }), rows: fc.integer({ min: 1, max: 9999 }) }),
  ),
});

describe('a break-glass session request', () => {
  it('travels as a query and comes back the same', () => {
    fc.assert(
      fc.property(request, (r) => {
        expect(parseSessionQuery(new URLSearchParams(sessionQuery(r)))).toEqual({
          ok: true,
          request: r,
        });
      }),
    );
  });

  it('names its command unambiguously: different commands, different lines', () => {
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 4 }),
        fc.array(word, { minLength: 1, maxLength: 4 }),
        (a, b) => {
          expect(commandLine(a) === commandLine(b)).toBe(JSON.stringify(a) === JSON.stringify(b));
        },
      ),
    );
    expect(commandLine(['sh', '-c', 'a b'])).toBe('"sh" "-c" "a b"');
  });

  it('is refused when malformed, oversized or ambiguous', () => {
    const bad = (q: string) => parseSessionQuery(new URLSearchParams(q));
    expect(bad('command=nope')).toMatchObject({ ok: false, message: /JSON array/ });
    expect(bad('command=%5B%5D')).toMatchObject({ ok: false });
    expect(bad(`command=${encodeURIComponent(JSON.stringify(Array(33).fill('a')))}`)).toMatchObject(
      {
        ok: false,
      },
    );
    expect(bad(`command=${encodeURIComponent('["a\\u0000"]')}`)).toMatchObject({ ok: false });
    expect(bad('command=%5B%22sh%22%5D&cols=80')).toMatchObject({ message: /both or neither/ });
    expect(bad('command=%5B%22sh%22%5D&cols=0&rows=5')).toMatchObject({ ok: false });
    expect(bad('command=%5B%22sh%22%5D&command=%5B%22id%22%5D')).toMatchObject({
      message: /given twice/,
    });
    expect(bad('command=%5B%22sh%22%5D&shell=1')).toMatchObject({ ok: false });
  });
});
