import { Duplex } from 'node:stream';
import {
  MAX_RECORD_BYTES,
  MAX_RECORD_PLAINTEXT,
  RECORD_HEADER_BYTES,
  openRecord,
  sealRecord,
} from '../../core/session/seal.js';

/**
 * `raw` as a stream of plaintext, every write sealed into records and every record read
 * opened (core/session/seal.ts) under `send` and `receive`. A record that does not open ends
 * both: a session is never carried on after its stream was tampered with.
 */
export function sealedStream(raw: Duplex, keys: { send: Buffer; receive: Buffer }): Duplex {
  let sent = 0n;
  let received = 0n;
  let pending: Buffer = Buffer.alloc(0);
  const plain: Duplex = new Duplex({
    write(chunk: Buffer, _encoding, done) {
      let ok = true;
      for (let at = 0; at < chunk.length; at += MAX_RECORD_PLAINTEXT)
        ok =
          raw.write(sealRecord(keys.send, sent++, chunk.subarray(at, at + MAX_RECORD_PLAINTEXT))) &&
          ok;
      if (ok) done();
      else raw.once('drain', () => done());
    },
    final(done) {
      raw.end();
      done();
    },
    read() {
      raw.resume();
    },
    destroy(err, done) {
      raw.destroy();
      done(err);
    },
  });
  raw.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= RECORD_HEADER_BYTES) {
      const length = pending.readUInt32BE(0);
      if (length > MAX_RECORD_BYTES) return plain.destroy(new Error('an oversized record'));
      if (pending.length < RECORD_HEADER_BYTES + length) return;
      const body = pending.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + length);
      pending = pending.subarray(RECORD_HEADER_BYTES + length);
      const opened = openRecord(keys.receive, received++, Buffer.from(body));
      if (opened === null) return plain.destroy(new Error('a record that does not open'));
      if (!plain.push(opened)) raw.pause();
    }
  });
  raw.on('end', () => plain.push(null));
  raw.on('close', () => plain.destroy());
  raw.on('error', (err) => plain.destroy(err));
  return plain;
}
