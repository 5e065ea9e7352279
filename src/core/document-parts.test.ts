import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cutPoints, documentParts, joinParts, type DocumentCuts } from './document-parts.js';

/** A measurement-like document: one JSON entry a file, each with its path and digest. */
function document(files: number, change?: { at: number; text: string }): Buffer {
  const entries: string[] = [];
  for (let i = 0; i < files; i++) {
    const sha256 = createHash('sha256').update(`file ${i}`).digest('hex');
    const path = `/opt/app/d${String(i % 97).padStart(2, '0')}/f${String(i).padStart(6, '0')}.dat`;
    entries.push(
      `{"gid":0,"mode":420,"path":"${path}","sha256":"${change?.at === i ? createHash('sha256').update(change.text).digest('hex') : sha256}","size":${(i * 7919) % 65536},"type":"file","uid":0}`,
    );
  }
  return Buffer.from(`{"entries":[${entries.join(',')}],"mediaType":"m"}`);
}

const SMALL: DocumentCuts = { min: 16 * 1024, bits: 14, max: 128 * 1024 };

describe('document parts', () => {
  it('come back to the document, and concatenated are one gzip stream of it', async () => {
    const doc = document(5000);
    const parts = await documentParts(doc, SMALL);
    expect(parts.length).toBeGreaterThan(5);
    expect((await joinParts(parts, doc.length)).equals(doc)).toBe(true);
    expect(gunzipSync(Buffer.concat(parts)).equals(doc)).toBe(true);
    // The same bytes, the same parts.
    expect(await documentParts(doc, SMALL)).toEqual(parts);
  });

  it('are inflated off the event loop: it keeps turning while a document is joined', async () => {
    const doc = document(20000);
    const parts = await documentParts(doc, SMALL);
    const order: string[] = [];
    const joined = joinParts(parts, doc.length).then(() => order.push('joined'));
    setImmediate(() => order.push('turned'));
    await joined;
    expect(order[0]).toBe('turned');
  });

  it('keep their cuts where they were when one entry changes: one or two parts differ', async () => {
    const before = await documentParts(document(20000), SMALL);
    const after = await documentParts(document(20000, { at: 12345, text: 'changed' }), SMALL);
    const known = new Set(before.map((p) => p.toString('base64')));
    const fresh = after.filter((p) => !known.has(p.toString('base64')));
    expect(before.length).toBeGreaterThan(20);
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    expect(fresh.length).toBeLessThanOrEqual(2);
    expect(after.length).toBeGreaterThanOrEqual(before.length - 1);
  });

  it('stay within their bounds, and a document without a cut point is cut at the most', () => {
    const doc = document(20000);
    let start = 0;
    const ends = cutPoints(doc, SMALL);
    ends.forEach((end, i) => {
      if (i < ends.length - 1) expect(end - start).toBeGreaterThan(SMALL.min);
      expect(end - start).toBeLessThanOrEqual(SMALL.max);
      start = end;
    });
    expect(ends.at(-1)).toBe(doc.length);
    const zeros = Buffer.alloc(300 * 1024);
    expect(cutPoints(zeros, SMALL)).toEqual([128 * 1024, 256 * 1024, 300 * 1024]);
    expect(cutPoints(Buffer.alloc(0), SMALL)).toEqual([0]);
  });

  it('refuse parts that inflate past the document (a gzip bomb), or come to another size', async () => {
    // The same codes and messages as when parts were inflated synchronously.
    const refused = (parts: Buffer[], size: number, message: RegExp) =>
      expect(joinParts(parts, size)).rejects.toMatchObject({
        code: 'E_DOCUMENT_INVALID',
        message: expect.stringMatching(message) as string,
      });
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    await refused([bomb], 1024, /parts come to more than its 1024 bytes/);
    const parts = await documentParts(Buffer.from('{"entries":[]}'), SMALL);
    await refused(parts, 13, /parts come to more than its 13 bytes/);
    await refused(parts, 15, /parts come to 14 bytes, not its 15/);
    await refused([Buffer.from('not gzip')], 8, /a part of the document is not gzip/);
  });
});
