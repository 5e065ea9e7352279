import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECORD_HEADER_BYTES, openRecord, sealRecord, sessionKeys } from './seal.js';

const keys = sessionKeys('c'.repeat(64), 'a'.repeat(64));
const body = (record: Buffer) => record.subarray(RECORD_HEADER_BYTES);

describe('sealed session records', () => {
  it('open to what was sealed, in order, and hide it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 8, maxLength: 200 }), { maxLength: 10 }),
        (texts) => {
          texts.forEach((t, n) => {
            const record = sealRecord(keys.toHost, BigInt(n), t);
            expect(record.includes(Buffer.from(t))).toBe(false);
            expect(new Uint8Array(openRecord(keys.toHost, BigInt(n), body(record))!)).toEqual(t);
          });
        },
      ),
    );
  });

  it('refuse a record altered, replayed, out of order or from the other direction', () => {
    const record = sealRecord(keys.toHost, 0n, Buffer.from('rm -rf /'));
    const flipped = Buffer.from(body(record));
    flipped[0]! ^= 1;
    expect(openRecord(keys.toHost, 0n, flipped)).toBeNull();
    expect(openRecord(keys.toHost, 1n, body(record))).toBeNull(); // replayed later
    expect(openRecord(keys.toServer, 0n, body(record))).toBeNull(); // reflected back
    const other = sessionKeys('c'.repeat(64), 'b'.repeat(64)); // another call's keys
    expect(openRecord(other.toHost, 0n, body(record))).toBeNull();
    expect(openRecord(keys.toHost, 0n, Buffer.alloc(3))).toBeNull();
  });

  it('derives keys apart per direction, per call and per credential', () => {
    const again = sessionKeys('c'.repeat(64), 'a'.repeat(64));
    expect(again.toHost.equals(keys.toHost)).toBe(true);
    expect(keys.toHost.equals(keys.toServer)).toBe(false);
    expect(sessionKeys('d'.repeat(64), 'a'.repeat(64)).toHost.equals(keys.toHost)).toBe(false);
  });
});
