import { randomBytes } from 'node:crypto';
import { constants, crc32, deflateRawSync, gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entropy, looksIncompressible } from './entropy.js';
import { EMPTY_FINAL_BLOCK, GZIP_HEADER, gzipTrailer, planRuns } from './gzip.js';

function member(raw: Buffer, runs: ReturnType<typeof planRuns>): Buffer {
  return Buffer.concat([
    GZIP_HEADER,
    ...runs.map((r) =>
      deflateRawSync(raw.subarray(r.start, r.end), {
        level: r.store ? 0 : 1,
        finishFlush: constants.Z_SYNC_FLUSH,
      }),
    ),
    EMPTY_FINAL_BLOCK,
    gzipTrailer(crc32(raw), raw.length),
  ]);
}

describe('gzip members from runs', () => {
  it('decompress, alone and concatenated, to exactly the input', () => {
    const pieceArb = fc.record({
      len: fc.integer({ min: 0, max: 9000 }),
      store: fc.boolean(),
      random: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(pieceArb, { maxLength: 5 }), { minLength: 1, maxLength: 3 }),
        (segments) => {
          const raws: Buffer[] = [];
          const members: Buffer[] = [];
          for (const pieces of segments) {
            let pos = 0;
            const parts: Buffer[] = [];
            const marks = pieces.map((p) => {
              parts.push(p.random ? randomBytes(p.len) : Buffer.alloc(p.len, 'ab'));
              const m = { start: pos, end: pos + p.len, store: p.store };
              pos += p.len;
              return m;
            });
            const raw = Buffer.concat(parts);
            const runs = planRuns(marks, raw.length);
            let covered = 0;
            for (const r of runs) {
              expect(r.start).toBe(covered);
              covered = r.end;
            }
            expect(covered).toBe(raw.length);
            raws.push(raw);
            members.push(member(raw, runs));
          }
          for (let i = 0; i < raws.length; i++)
            expect(gunzipSync(members[i]!).equals(raws[i]!)).toBe(true);
          expect(gunzipSync(Buffer.concat(members)).equals(Buffer.concat(raws))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('have a fixed header, whatever platform wrote them', () => {
    expect([...GZIP_HEADER]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
  });
});

describe('entropy', () => {
  it('tells random bytes from text and code', () => {
    expect(looksIncompressible(randomBytes(100_000))).toBe(true);
    expect(
      looksIncompressible(
        Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(3000)),
      ),
    ).toBe(false);
    expect(looksIncompressible(Buffer.alloc(50_000))).toBe(false);
    expect(entropy(Buffer.from([0, 1, 2, 3]))).toBeCloseTo(2);
    expect(entropy(Buffer.alloc(0))).toBe(0);
  });
});
