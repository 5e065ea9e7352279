import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';
import { normalizeGzipMember } from './gzip.js';

describe('canonicalJson', () => {
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

describe('normalizeGzipMember', () => {
  it('pins OS and mtime, and concatenated members still decompress to the concatenation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 2000 }), { minLength: 1, maxLength: 5 }),
        (parts) => {
          const members = parts.map((p) => normalizeGzipMember(gzipSync(p, { level: 1 })));
          for (const m of members) {
            expect(m[9]).toBe(255);
            expect([...m.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
          }
          expect(gunzipSync(Buffer.concat(members)).equals(Buffer.concat(parts))).toBe(true);
        },
      ),
    );
  });
});
