import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, gunzip as gunzipCallback } from 'node:zlib';
import { IngotError } from '../domain/errors.js';
import { GZIP_HEADER, gzipTrailer } from './gzip.js';

/**
 * The large documents attached to an image (the measurement, the SBOM) list every file with
 * its digests, so a one-file change makes them anew: sent whole, they were more bytes than
 * the changed layer part itself. They are stored and shipped instead as parts, each one gzip
 * member (RFC 1952), cut where the content says (content-defined chunking), not at fixed
 * offsets: a change moves no cut outside the part it falls in, so the other parts keep their
 * digests and the store, registries and hosts that hold them are not sent them again.
 *
 * Concatenated in order, the parts are one valid gzip stream of the document (RFC 1952
 * §2.2: a gzip file is a series of members), so `cat parts… | gunzip` gives it back.
 */
export interface DocumentCuts {
  /** No part is shorter (but the last), so that a part is worth its request. */
  readonly min: number;
  /** Past `min`, a cut falls where the rolling hash's top `bits` bits are zero: 2^bits apart on average. */
  readonly bits: number;
  /** Nor longer: a document without a cut point (all zeros) still comes in parts. */
  readonly max: number;
}

/** About 0.5 MiB of JSON a part (~0.1–0.2 MiB compressed): 7 parts for a 20,000-file measurement. */
export const DOCUMENT_CUTS: DocumentCuts = { min: 256 * 1024, bits: 18, max: 2 * 1024 * 1024 };

/** As layers are by default: JSON of paths and hex digests gains 1.5 % at zlib's default (6), for 40 % more CPU. */
const LEVEL = 1;

/**
 * Gear hash table (FastCDC): 256 fixed pseudo-random words from xorshift32 with a fixed
 * seed. Part of the format: other words would cut elsewhere (still readable, less shared).
 */
const GEAR = (() => {
  const table = new Uint32Array(256);
  let x = 0x9e3779b9;
  for (let i = 0; i < 256; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    table[i] = x;
  }
  return table;
})();

/**
 * Where to cut: after each returned offset (the last is `bytes.length`). The hash of a
 * position depends on the 32 bytes before it alone (each byte shifts the state one bit
 * left), so an edit changes the cuts only near it: the next cut after the edit is found
 * where it was, and the parts after it are the same bytes as before.
 */
export function cutPoints(bytes: Uint8Array, cuts: DocumentCuts = DOCUMENT_CUTS): number[] {
  const mask = (((1 << cuts.bits) - 1) << (32 - cuts.bits)) >>> 0;
  const out: number[] = [];
  let start = 0;
  while (bytes.length - start > cuts.min) {
    const end = Math.min(bytes.length, start + cuts.max);
    let h = 0;
    // The window before `min` only primes the hash; a cut can fall from `min` on.
    for (let i = Math.max(start, start + cuts.min - 32); i < start + cuts.min; i++)
      h = ((h << 1) + GEAR[bytes[i]!]!) >>> 0;
    let cut = end;
    for (let i = start + cuts.min; i < end; i++) {
      h = ((h << 1) + GEAR[bytes[i]!]!) >>> 0;
      if ((h & mask) === 0) {
        cut = i + 1;
        break;
      }
    }
    out.push(cut);
    start = cut;
  }
  if (start < bytes.length || out.length === 0) out.push(bytes.length);
  return out;
}

/**
 * The document cut into parts, each compressed: what goes into the store, in order. The
 * parts are compressed at once, in libuv's threads (the same bytes as one after the other).
 */
export function documentParts(
  bytes: Uint8Array,
  cuts: DocumentCuts = DOCUMENT_CUTS,
): Promise<Buffer[]> {
  let start = 0;
  return Promise.all(
    cutPoints(bytes, cuts).map((end) => {
      const part = gzipMember(bytes.subarray(start, end));
      start = end;
      return part;
    }),
  );
}

const deflate = promisify(deflateRaw);
const gunzip = promisify(gunzipCallback);

/**
 * One gzip member with a fixed header (no name, no time, OS "unknown"), so that the same
 * bytes give the same member on every machine with this zlib, as layers do (core/gzip.ts).
 */
async function gzipMember(raw: Uint8Array): Promise<Buffer> {
  const deflated = await deflate(raw, { level: LEVEL, finishFlush: constants.Z_FINISH });
  return Buffer.concat([GZIP_HEADER, deflated, gzipTrailer(crc32(raw), raw.length)]);
}

/**
 * The document back from its parts, which must come to exactly `size` bytes. Threat: parts
 * from a registry or a store that decompress to far more than they are (a gzip bomb): no
 * part may produce more than what is left of `size`, which the caller bounded. The caller
 * checks the result against the document's digest.
 *
 * Inflated in libuv's threads, one part after the other: a document may be hundreds of MiB,
 * read by the server and agents before each start, whose event loop must not stop for it.
 */
export async function joinParts(parts: readonly Uint8Array[], size: number): Promise<Buffer> {
  const out: Buffer[] = [];
  let total = 0;
  for (const part of parts) {
    let raw: Buffer;
    try {
      raw = await gunzip(part, { maxOutputLength: Math.max(1, size - total) });
    } catch (err) {
      const tooLarge = (err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new IngotError(
        'E_DOCUMENT_INVALID',
        tooLarge
          ? `the document's parts come to more than its ${size} bytes`
          : `a part of the document is not gzip: ${(err as Error).message}`,
        { cause: err },
      );
    }
    total += raw.length;
    if (total > size)
      throw new IngotError(
        'E_DOCUMENT_INVALID',
        `the document's parts come to more than its ${size} bytes`,
      );
    out.push(raw);
  }
  if (total !== size)
    throw new IngotError(
      'E_DOCUMENT_INVALID',
      `the document's parts come to ${total} bytes, not its ${size}`,
    );
  return Buffer.concat(out, total);
}
