import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import {
  BLOCK,
  END_OF_ARCHIVE,
  encodeHeader,
  entryLength,
  headerLength,
  paddingFor,
  paxRecord,
  type TarEntryHeader,
} from './header.js';

/** Build a whole archive from headers, with deterministic content for files. */
function archive(entries: readonly TarEntryHeader[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(encodeHeader(e), content(e), Buffer.alloc(paddingFor(e.size)));
  }
  parts.push(Buffer.alloc(END_OF_ARCHIVE));
  return Buffer.concat(parts);
}

function content(e: TarEntryHeader): Buffer {
  return Buffer.alloc(e.size, e.name.length % 251);
}

interface Parsed {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string | null;
  uname: string | undefined;
  data: Buffer;
}

async function parse(bytes: Buffer): Promise<Parsed[]> {
  const out: Parsed[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const pax = (h.pax ?? {}) as Record<string, string | undefined>;
        out.push({
          name: h.name,
          type: h.type ?? 'file',
          mode: h.mode ?? -1,
          // tar-stream applies pax path/linkpath/size but leaves uid/gid to the caller.
          uid: pax['uid'] !== undefined ? Number(pax['uid']) : (h.uid ?? -1),
          gid: pax['gid'] !== undefined ? Number(pax['gid']) : (h.gid ?? -1),
          size: h.size ?? -1,
          mtime:
            pax['mtime'] !== undefined ? Number(pax['mtime']) : (h.mtime?.getTime() ?? -1) / 1000,
          linkname: h.linkname ?? null,
          uname: h.uname,
          data: Buffer.concat(chunks),
        });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([bytes]).pipe(extract);
  await done;
  return out;
}

const segment = fc
  .stringMatching(/^[a-zA-Z0-9._\u00e9\u4e2d-]{1,40}$/)
  .filter((s) => s !== '.' && s !== '..');
const entryArb: fc.Arbitrary<TarEntryHeader> = fc
  .record({
    segments: fc.array(segment, { minLength: 1, maxLength: 8 }),
    type: fc.constantFrom<TarEntryHeader['type']>('file', 'dir', 'symlink'),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    uid: fc.oneof(
      fc.integer({ min: 0, max: 70000 }),
      fc.integer({ min: 2 ** 21, max: 2 ** 32 - 2 }),
    ),
    gid: fc.integer({ min: 0, max: 70000 }),
    size: fc.integer({ min: 0, max: 3000 }),
    mtime: fc.integer({ min: 0, max: 2 ** 33 }),
    target: fc.array(segment, { minLength: 1, maxLength: 6 }),
  })
  .map((r) => ({
    name: r.segments.join('/'),
    type: r.type,
    mode: r.mode,
    uid: r.uid,
    gid: r.gid,
    size: r.type === 'file' ? r.size : 0,
    mtime: r.mtime,
    ...(r.type === 'symlink' && { linkname: r.target.join('/') }),
  }));

describe('tar header encoding', () => {
  it('round-trips every field through an independent tar parser', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 6 }), async (entries) => {
        const parsed = await parse(archive(entries));
        expect(parsed).toHaveLength(entries.length);
        entries.forEach((e, i) => {
          const p = parsed[i]!;
          expect(p.name.replace(/\/$/, '')).toBe(e.name);
          expect(p.type).toBe(e.type === 'dir' ? 'directory' : e.type);
          expect(p.mode).toBe(e.mode);
          expect(p.uid).toBe(e.uid);
          expect(p.gid).toBe(e.gid);
          expect(p.size).toBe(e.size);
          expect(p.mtime).toBe(e.mtime);
          expect(p.uname ?? '').toBe('');
          if (e.type === 'symlink') expect(p.linkname).toBe(e.linkname);
          expect(p.data.equals(content(e))).toBe(true);
        });
      }),
      { numRuns: 150 },
    );
  });

  it('is deterministic and block-aligned, and entryLength is exact', () => {
    fc.assert(
      fc.property(entryArb, (e) => {
        const a = encodeHeader(e);
        expect(a.equals(encodeHeader({ ...e }))).toBe(true);
        expect(a.length % BLOCK).toBe(0);
        expect(entryLength(e)).toBe(a.length + e.size + paddingFor(e.size));
        expect(headerLength(e)).toBe(a.length);
      }),
    );
  });

  it('writes a valid ustar checksum and no user or group names', () => {
    const h = encodeHeader({
      name: 'etc/passwd',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 5,
      mtime: 0,
    });
    const stored = parseInt(h.toString('ascii', 148, 154), 8);
    const copy = Buffer.from(h);
    copy.fill(0x20, 148, 156);
    expect(copy.reduce((s, b) => s + b, 0)).toBe(stored);
    expect(h.toString('ascii', 257, 265)).toBe('ustar\u000000');
    expect(h.subarray(265, 329).every((b) => b === 0)).toBe(true);
  });

  it('computes self-describing pax record lengths, across digit boundaries', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 300, unit: 'binary' }), (value) => {
        const record = paxRecord('path', value);
        const length = parseInt(record, 10);
        expect(Buffer.byteLength(record)).toBe(length);
        expect(record.endsWith('\n')).toBe(true);
      }),
    );
    for (const n of [90, 91, 92, 93, 94, 95, 996, 997, 998]) {
      const r = paxRecord('path', 'x'.repeat(n));
      expect(Buffer.byteLength(r)).toBe(parseInt(r, 10));
    }
  });

  it('is read by GNU tar with the same names, modes and owners', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingot-tar-'));
    try {
      const long = `deep/${'d'.repeat(120)}/file-with-long-name-${'n'.repeat(60)}`;
      const entries: TarEntryHeader[] = [
        { name: 'bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 },
        { name: 'bin/tool', type: 'file', mode: 0o4755, uid: 0, gid: 0, size: 3, mtime: 0 },
        {
          name: 'bin/sh',
          type: 'symlink',
          mode: 0o777,
          uid: 0,
          gid: 0,
          size: 0,
          mtime: 0,
          linkname: 'tool',
        },
        { name: long, type: 'file', mode: 0o600, uid: 3000000, gid: 7, size: 700, mtime: 1 },
        { name: 'caf\u00e9', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 },
      ];
      const file = join(dir, 'layer.tar');
      writeFileSync(file, archive(entries));
      const listing = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' });
      expect(listing).toMatch(/^-rwsr-xr-x 0\/0 +3 1970-01-01 00:00 bin\/tool$/m);
      expect(listing).toMatch(/^lrwxrwxrwx 0\/0 +0 .* bin\/sh -> tool$/m);
      expect(listing).toMatch(new RegExp(`^-rw------- 3000000/7 +700 .* ${long}$`, 'm'));
      expect(listing).toContain('caf\u00e9');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
