import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from '../../test/helpers/fs.js';
import { MAX_CONTEXT_FILE_BYTES, withContext, withCurrent } from '../core/contexts/index.js';
import { EMPTY_CONTEXT_FILE } from '../core/contexts/index.js';
import type { IngotError } from '../domain/errors.js';
import {
  contextFilePath,
  loadCurrentContext,
  readContextFile,
  writeContextFile,
} from './contexts-file.js';

const tempDir = useTempDirs();

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as IngotError).code;
  }
  return 'no error';
}

describe('where the context file is', () => {
  it('is under XDG_CONFIG_HOME, else under HOME/.config, else nowhere', () => {
    expect(contextFilePath({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/ingot/config.yaml');
    expect(contextFilePath({ HOME: '/h' })).toBe('/h/.config/ingot/config.yaml');
    // A relative XDG_CONFIG_HOME is ignored, as the XDG spec says; so is an empty one.
    expect(contextFilePath({ XDG_CONFIG_HOME: 'rel', HOME: '/h' })).toBe(
      '/h/.config/ingot/config.yaml',
    );
    expect(contextFilePath({ XDG_CONFIG_HOME: '', HOME: '/h' })).toBe(
      '/h/.config/ingot/config.yaml',
    );
    // A service without a home reads no contexts.
    expect(contextFilePath({})).toBeNull();
    expect(loadCurrentContext({})).toBeNull();
  });
});

describe('reading and writing the context file', () => {
  const lc = { server: 'http://10.87.0.1:7070', tokenFile: '/s1/token' };

  it('reads none when there is no file, and writes it 0600 in a 0700 folder, atomically', () => {
    const config = tempDir();
    const path = join(config, 'ingot', 'config.yaml');
    expect(readContextFile(path).contexts.size).toBe(0);
    expect(loadCurrentContext({ XDG_CONFIG_HOME: config })).toBeNull();
    const f = withCurrent(withContext(EMPTY_CONTEXT_FILE, 'lc', lc), 'lc');
    writeContextFile(path, f);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(config, 'ingot')).mode & 0o777).toBe(0o700);
    expect(readContextFile(path)).toEqual(f);
    expect(loadCurrentContext({ XDG_CONFIG_HOME: config })).toEqual({
      name: 'lc',
      file: path,
      ...lc,
    });
    // A file made open by hand is replaced by one of the owner's alone; no temp file stays.
    execFileSync('chmod', ['644', path]);
    writeContextFile(path, withCurrent(f, null));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(config, 'ingot'))).toEqual(['config.yaml']);
    expect(readContextFile(path).current).toBeNull();
  });

  it('refuses what is no context file without hanging or reading past its bound', () => {
    const dir = tempDir();
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(codeOf(() => readContextFile(fifo))).toBe('E_CONTEXT_FILE');
    expect(codeOf(() => readContextFile(dir))).toBe('E_CONTEXT_FILE');
    const big = join(dir, 'big.yaml');
    writeFileSync(big, Buffer.alloc(MAX_CONTEXT_FILE_BYTES * 64, 0x20));
    expect(codeOf(() => readContextFile(big))).toBe('E_CONTEXT_TOO_LARGE');
    const bad = join(dir, 'ingot');
    mkdirSync(bad);
    writeFileSync(join(bad, 'config.yaml'), 'current: nope\n');
    expect(codeOf(() => loadCurrentContext({ XDG_CONFIG_HOME: dir }))).toBe('E_CONTEXT_INVALID');
  });

  it('says so when it cannot write, and leaves no temp file', () => {
    const dir = tempDir();
    // A folder where the file should be: the rename fails.
    const path = join(dir, 'config.yaml');
    mkdirSync(join(path, 'x'), { recursive: true });
    expect(codeOf(() => writeContextFile(path, EMPTY_CONTEXT_FILE))).toBe('E_CONTEXT_FILE');
    expect(readdirSync(dir)).toEqual(['config.yaml']);
  });
});
