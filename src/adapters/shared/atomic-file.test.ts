import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTempFile,
  moveIntoPlace,
  writeFileAtomic,
  writeFileExclusive,
  writeFileReplacing,
} from './atomic-file.js';

const dirs: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-atomic-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('atomic files', () => {
  it('replaces a file whole, with the mode asked for, and leaves no temp file', () => {
    const dir = tmp();
    const path = join(dir, 'state.json');
    writeFileSync(path, 'old');
    writeFileAtomic(path, 'new', { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileReplacing(path, Buffer.from('cache'));
    expect(readFileSync(path, 'utf8')).toBe('cache');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('never replaces a file with writeFileExclusive, and cleans up after refusing', () => {
    const dir = tmp();
    const path = join(dir, 'secret');
    writeFileExclusive(path, 'first');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(() => writeFileExclusive(path, 'second')).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
    expect(readFileSync(path, 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['secret']);
  });

  it('commits a streamed temp file under its final name, or discards it', () => {
    const dir = tmp();
    const kept = createTempFile(dir);
    kept.write(Buffer.from('piece one, '));
    kept.write(Buffer.from('piece two'));
    kept.commit(join(dir, 'object'), { durable: false });
    expect(readFileSync(join(dir, 'object'), 'utf8')).toBe('piece one, piece two');
    const dropped = createTempFile(dir);
    dropped.write(Buffer.from('half'));
    dropped.discard();
    expect(readdirSync(dir)).toEqual(['object']);
  });

  it('moves a staged file into place over a damaged copy', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'staged'), 'right');
    writeFileSync(join(dir, 'blob'), 'damaged');
    moveIntoPlace(join(dir, 'staged'), join(dir, 'blob'));
    expect(readFileSync(join(dir, 'blob'), 'utf8')).toBe('right');
    expect(readdirSync(dir)).toEqual(['blob']);
  });
});
