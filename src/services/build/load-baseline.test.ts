import { describe, expect, it } from 'vitest';
import { digestOf } from '../../domain/digest.js';
import { loadBaseline } from './load-baseline.js';
import type { BaselineFiles } from './types.js';

const yaml = Buffer.from('name: t\nversion: "1"\n');

/** A file system of one folder, /work/app, holding ingot.yaml. */
function files(): BaselineFiles & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    cwd: '/work',
    pathKind: (path) =>
      path === '/work/app' ? 'dir' : path === '/work/app/ingot.yaml' ? 'other' : null,
    readSpecFile: (path, shown) => {
      reads.push(`${path} as ${shown}`);
      return yaml;
    },
  };
}

describe('loadBaseline', () => {
  it('finds ingot.yaml in a folder, relative to the working directory', () => {
    const fs = files();
    const loaded = loadBaseline(fs, 'app');
    expect(loaded.file).toBe('/work/app/ingot.yaml');
    expect(loaded.contextDir).toBe('/work/app');
    expect(loaded.digest).toBe(digestOf(yaml));
    expect(loaded.baseline.name).toBe('t');
    expect(fs.reads).toEqual(['/work/app/ingot.yaml as app/ingot.yaml']);
  });

  it('refuses a path that is not there, and a folder without ingot.yaml', () => {
    expect(() => loadBaseline(files(), 'nothing')).toThrow(
      expect.objectContaining({
        code: 'E_SPEC_NOT_FOUND',
        message: 'nothing: no such file or folder',
      }),
    );
    const empty = {
      ...files(),
      pathKind: (p: string) => (p === '/work/app' ? 'dir' : null),
    } as const;
    expect(() => loadBaseline(empty, 'app')).toThrow(
      expect.objectContaining({ code: 'E_SPEC_NOT_FOUND' }),
    );
  });
});
