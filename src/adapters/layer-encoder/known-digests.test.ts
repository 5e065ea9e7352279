import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SourceFile } from '../../domain/source.js';
import { keepsTimes, KnownDigests, RACY_MS, type KnownDigestsLimits } from './known-digests.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SECRET = Buffer.alloc(32, 1);
const NOW = 1_700_000_000_000;
const SHA = 'ab'.repeat(32);

/** A folder on this machine's temporary filesystem, which must be one whose times hold. */
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-known-'));
  dirs.push(dir);
  expect(
    keepsTimes(dir),
    `${tmpdir()} must be on ext4, XFS, btrfs, tmpfs, overlayfs, ZFS or F2FS for these tests (set TMPDIR)`,
  ).toBe(true);
  return dir;
}

/** An identity for a real path (the filesystem is checked), with times of our choosing. */
function identity(abs: string, over: Partial<SourceFile> = {}): SourceFile {
  writeFileSync(abs, 'x');
  return {
    abs,
    size: 42,
    dev: statSync(abs).dev,
    ino: 77,
    mtimeMs: NOW - 60_000.25,
    ctimeMs: NOW - 60_000.5,
    ...over,
  };
}

function digests(dir: string, secret = SECRET, limits?: KnownDigestsLimits) {
  return new KnownDigests(join(dir, 'cache', 'known-digests-v1'), secret, limits);
}

describe('KnownDigests', () => {
  it('gives back a digest only for the very same identity', () => {
    const dir = folder();
    const file = identity(join(dir, 'main.js'));
    digests(dir).record([{ file, sha256: SHA, readSince: NOW }]);
    const known = digests(dir);
    expect(known.lookup(file)).toBe(SHA);
    for (const changed of [
      { size: 43 },
      { ino: 78 },
      { mtimeMs: NOW - 60_000 },
      { ctimeMs: NOW - 59_000 },
      { abs: join(dir, 'other.js') },
    ])
      expect(known.lookup({ ...file, ...changed }), JSON.stringify(changed)).toBeUndefined();
  });

  it('does not remember files changed within RACY_MS of when the build read them', () => {
    const dir = folder();
    const racy = identity(join(dir, 'racy'), { ctimeMs: NOW - RACY_MS + 1 });
    const touched = identity(join(dir, 'touched'), { mtimeMs: NOW - 10 });
    const settled = identity(join(dir, 'settled'));
    digests(dir).record(
      [racy, touched, settled].map((file) => ({ file, sha256: SHA, readSince: NOW })),
    );
    const known = digests(dir);
    expect(known.lookup(racy)).toBeUndefined();
    expect(known.lookup(touched)).toBeUndefined();
    expect(known.lookup(settled)).toBe(SHA);
  });

  it('trusts no filesystem whose times cannot be relied on', () => {
    // procfs stands in for NFS, FAT and FUSE: a real filesystem that is not on the list.
    const dir = folder();
    const proc = { ...identity(join(dir, 'x')), abs: '/proc/version', dev: statSync('/proc').dev };
    digests(dir).record([{ file: proc, sha256: SHA, readSince: NOW }]);
    expect(digests(dir).lookup(proc)).toBeUndefined();
  });

  it('believes nothing its secret does not vouch for: planted, foreign, torn or huge', () => {
    const dir = folder();
    const file = identity(join(dir, 'main.js'));
    digests(dir).record([{ file, sha256: SHA, readSince: NOW }]);
    const path = join(dir, 'cache', 'known-digests-v1');
    const written = readFileSync(path, 'utf8');
    const planted = written.replace(SHA, 'cd'.repeat(32));
    expect(planted).not.toBe(written);
    for (const [content, secret] of [
      [planted, SECRET],
      [written, Buffer.alloc(32, 2)],
      [written.slice(0, -5), SECRET],
      ['', SECRET],
    ] as const) {
      writeFileSync(path, content);
      expect(digests(dir, secret).lookup(file)).toBeUndefined();
    }
    writeFileSync(path, written);
    truncateSync(path, 65 * 1024 * 1024); // sparse: bigger than any file it writes
    expect(digests(dir).lookup(file)).toBeUndefined();
  });

  it('keeps earlier records, replaces a file read again, and forgets on request', () => {
    const dir = folder();
    const first = identity(join(dir, 'a'));
    const other = identity(join(dir, 'b'));
    digests(dir).record([{ file: first, sha256: SHA, readSince: NOW }]);
    const newer = { ...first, ctimeMs: NOW - 30_000 };
    digests(dir).record([
      { file: other, sha256: 'cd'.repeat(32), readSince: NOW },
      { file: newer, sha256: 'ef'.repeat(32), readSince: NOW },
    ]);
    expect(digests(dir).lookup(other)).toBe('cd'.repeat(32));
    expect(digests(dir).lookup(newer)).toBe('ef'.repeat(32));
    expect(digests(dir).lookup(first)).toBeUndefined();
    digests(dir).forget([other]);
    expect(digests(dir).lookup(other)).toBeUndefined();
    expect(digests(dir).lookup(newer)).toBe('ef'.repeat(32));
  });

  it('keeps the newest records within its bounds, so that it can always read itself', () => {
    const dir = folder();
    const files = Array.from({ length: 50 }, (_, i) => identity(join(dir, `f${i}`)));
    const read = files.map((file) => ({ file, sha256: SHA, readSince: NOW }));
    for (const limits of [
      { maxFiles: 10, maxBytes: 1 << 20 },
      { maxFiles: 1000, maxBytes: 2000 },
    ]) {
      digests(dir, SECRET, limits).record(read);
      const known = digests(dir, SECRET, limits);
      const kept = files.filter((f) => known.lookup(f) === SHA);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThanOrEqual(limits.maxFiles);
      expect(kept).toEqual(files.slice(-kept.length));
      expect(statSync(join(dir, 'cache', 'known-digests-v1')).size).toBeLessThanOrEqual(
        limits.maxBytes,
      );
    }
  });
});
