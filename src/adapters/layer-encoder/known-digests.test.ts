import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SourceFile } from '../../domain/source.js';
import { KnownDigests, RACY_MS } from './known-digests.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SECRET = Buffer.alloc(32, 1);
const NOW = 1_700_000_000_000;
const SHA = 'ab'.repeat(32);
const file = (over: Partial<SourceFile> = {}): SourceFile => ({
  abs: '/src/app/main.js',
  size: 42,
  dev: 2049,
  ino: 77,
  mtimeMs: NOW - 60_000.25,
  ctimeMs: NOW - 60_000.5,
  ...over,
});

function saved(rows: (readonly [SourceFile, string])[], secret = SECRET) {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-known-'));
  dirs.push(dir);
  const path = join(dir, 'cache', 'known-digests-v1');
  new KnownDigests(path, secret).record(rows, NOW);
  return path;
}

describe('KnownDigests', () => {
  it('gives back a digest only for the very same identity', () => {
    const path = saved([[file(), SHA]]);
    const known = new KnownDigests(path, SECRET);
    expect(known.lookup(file())).toBe(SHA);
    for (const changed of [
      { size: 43 },
      { dev: 1 },
      { ino: 78 },
      { mtimeMs: NOW - 60_000 },
      { ctimeMs: NOW - 59_000 },
      { abs: '/src/app/other.js' },
    ])
      expect(known.lookup(file(changed)), JSON.stringify(changed)).toBeUndefined();
  });

  it('does not remember files changed within RACY_MS of the build start', () => {
    const racy = file({ abs: '/racy', ctimeMs: NOW - RACY_MS + 1 });
    const touched = file({ abs: '/touched', mtimeMs: NOW - 10 });
    const path = saved([
      [racy, SHA],
      [touched, SHA],
      [file(), SHA],
    ]);
    const known = new KnownDigests(path, SECRET);
    expect(known.lookup(racy)).toBeUndefined();
    expect(known.lookup(touched)).toBeUndefined();
    expect(known.lookup(file())).toBe(SHA);
  });

  it('believes nothing its secret does not vouch for: planted, foreign, torn or huge', () => {
    const path = saved([[file(), SHA]]);
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
      expect(new KnownDigests(path, secret).lookup(file())).toBeUndefined();
    }
    writeFileSync(path, written);
    truncateSync(path, 65 * 1024 * 1024); // sparse: bigger than any real record
    expect(new KnownDigests(path, SECRET).lookup(file())).toBeUndefined();
  });

  it('keeps earlier records and replaces a file read again', () => {
    const path = saved([[file(), SHA]]);
    const other = file({ abs: '/other' });
    const newer = file({ ctimeMs: NOW - 30_000 });
    new KnownDigests(path, SECRET).record(
      [
        [other, 'cd'.repeat(32)],
        [newer, 'ef'.repeat(32)],
      ],
      NOW,
    );
    const known = new KnownDigests(path, SECRET);
    expect(known.lookup(other)).toBe('cd'.repeat(32));
    expect(known.lookup(newer)).toBe('ef'.repeat(32));
    expect(known.lookup(file())).toBeUndefined();
  });
});
