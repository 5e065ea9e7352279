import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sameCanonicalJson } from './canonical-json.js';

/** Small values, so that two drawn at random are often equal or nearly so. */
const nearlyJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -0, 1, 'a', '1', undefined),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', '1', 'toString'), tie('value'), { maxKeys: 3 }),
  ),
})).value;

describe('sameCanonicalJson', () => {
  it('says what comparing the canonical JSON of both says', () => {
    fc.assert(
      fc.property(nearlyJson, nearlyJson, (a, b) => {
        expect(sameCanonicalJson(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(sameCanonicalJson(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
        expect(sameCanonicalJson(a, JSON.parse(canonicalJson(a)))).toBe(true);
      }),
    );
  });

  it('takes undefined as JSON does, and never an inherited key for an own one', () => {
    expect(sameCanonicalJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameCanonicalJson([undefined], [null])).toBe(true);
    expect(sameCanonicalJson({}, [])).toBe(false);
    expect(sameCanonicalJson({ toString: 1 }, {})).toBe(false);
    expect(sameCanonicalJson(Object.create({ a: 1 }), { a: 1 })).toBe(false);
    expect(sameCanonicalJson(JSON.parse('{"__proto__":{"a":1}}'), {})).toBe(false);
    expect(sameCanonicalJson(JSON.parse('{"__proto__":1}'), JSON.parse('{"__proto__":1}'))).toBe(
      true,
    );
    expect(sameCanonicalJson({ b: [1, { c: 'x' }], a: 2 }, { a: 2, b: [1, { c: 'x' }] })).toBe(
      true,
    );
  });
});

describe('canonicalJson', () => {
  it('keeps a "__proto__" key of parsed input, on both paths', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"a":1},"b":2}'))).toBe(
      '{"__proto__":{"a":1},"b":2}',
    );
    expect(canonicalJson(JSON.parse('{"__proto__":{"a":1},"1":2}'))).toBe(
      '{"1":2,"__proto__":{"a":1}}',
    );
  });

  it('is independent of key order and round-trips', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(text).not.toMatch(/\n/);
      }),
    );
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });

  it('sorts keys by UTF-16 code units, as RFC 8785 says', () => {
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4, '\u00f6': 5 })).toBe(
      '{"\\r":2,"1":4,"\u00f6":5,"\u20ac":1,"\ud83d\ude00":3}',
    );
  });
});
