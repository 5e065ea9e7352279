import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sessionKeys } from '../../core/session/seal.js';
import { sealedStream } from './sealed-stream.js';

/** Two raw ends joined by a wire that a test can read and alter. */
function wire(tamper: (b: Buffer) => Buffer = (b) => b) {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const seen: Buffer[] = [];
  // a's writes cross the wire to b (what b sends back is not needed here).
  const aOut = new PassThrough();
  aOut.on('data', (c: Buffer) => {
    seen.push(c);
    aToB.write(tamper(c));
  });
  return {
    a: Duplex.from({ readable: bToA, writable: aOut }),
    b: Duplex.from({ readable: aToB, writable: new PassThrough() }),
    seen,
  };
}

const keys = sessionKeys('c'.repeat(64), 'f'.repeat(64));

describe('a sealed stream', () => {
  it('carries bytes sealed: the wire never holds the plaintext', async () => {
    const w = wire();
    const server = sealedStream(w.a, { send: keys.toHost, receive: keys.toServer });
    const host = sealedStream(w.b, { send: keys.toServer, receive: keys.toHost });
    const got = new Promise<string>((resolve) =>
      host.once('data', (c: Buffer) => resolve(c.toString())),
    );
    server.write('cat /etc/shadow\n');
    expect(await got).toBe('cat /etc/shadow\n');
    expect(Buffer.concat(w.seen).includes('shadow')).toBe(false);
  });

  it('ends at the first record altered on the way', async () => {
    const w = wire((b) => {
      const out = Buffer.from(b);
      out[out.length - 1]! ^= 0x80;
      return out;
    });
    sealedStream(w.a, { send: keys.toHost, receive: keys.toServer }).write('id\n');
    const host = sealedStream(w.b, { send: keys.toServer, receive: keys.toHost });
    const data: Buffer[] = [];
    host.on('data', (c: Buffer) => data.push(c));
    const err = await new Promise<Error>((resolve) => host.once('error', resolve));
    expect(err.message).toMatch(/does not open/);
    expect(data).toEqual([]);
  });
});
