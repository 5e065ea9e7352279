import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMember, gzipMember, prepareCodec, zstdFrame } from './codec.js';

describe('decodeMember', () => {
  it('gives back what gzipMember and zstdFrame were given, and refuses more than the limit', async () => {
    await prepareCodec('zstd');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.boolean(), (bytes, stored) => {
        const raw = Buffer.from(bytes);
        const runs = raw.length > 0 ? [{ start: 0, end: raw.length, store: stored }] : [];
        const gz = gzipMember(raw, runs, 1);
        const zs = zstdFrame(raw, 3);
        expect(decodeMember('gzip', gz, raw.length)).toEqual(raw);
        expect(decodeMember('zstd', zs, raw.length)).toEqual(raw);
        if (raw.length > 0) {
          expect(() => decodeMember('gzip', gz, raw.length - 1)).toThrow();
          expect(() => decodeMember('zstd', zs, raw.length - 1)).toThrow();
        }
      }),
    );
  });

  it('refuses a zstd frame whose header hides or overstates its size', async () => {
    await prepareCodec('zstd');
    const frame = zstdFrame(Buffer.alloc(1000, 7), 3);
    expect(() => decodeMember('zstd', frame.subarray(0, 5), 1000)).toThrow();
    expect(() => decodeMember('zstd', Buffer.from('not a frame'), 1000)).toThrow();
  });
});
