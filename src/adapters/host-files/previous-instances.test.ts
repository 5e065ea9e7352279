import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import type { PreviousInstance } from '../../domain/instance.js';
import { keepPrevious, PER_FLEET, readPrevious } from './previous-instances.js';

const record = (id: string, at: number, fleet = 'web'): PreviousInstance => ({
  id,
  fleet,
  artifact: `sha256:${'a'.repeat(64)}` as Digest,
  exit: { code: 1, oomKilled: false, at: new Date(at).toISOString() },
  output: `${id} said goodbye\n`,
});

describe('what exited instances leave', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'ingot-previous-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('keeps the last few of each fleet, root only, the oldest dropped', () => {
    for (let n = 0; n < PER_FLEET + 3; n++) keepPrevious(home, record(`web-${n}`, 1000 + n));
    keepPrevious(home, record('db-0', 1, 'db'));
    const dir = join(home, 'instances-previous', 'web');
    expect(readdirSync(dir).sort()).toEqual([3, 4, 5, 6, 7].map((n) => `web-${n}.json`).sort());
    expect(statSync(join(dir, 'web-7.json')).mode & 0o777).toBe(0o600);
    expect(readPrevious(home, 'web-7').output).toBe('web-7 said goodbye\n');
    expect(readPrevious(home, 'db-0').fleet).toBe('db');
    expect(() => readPrevious(home, 'web-0')).toThrow(
      expect.objectContaining({ code: 'E_PREVIOUS_NOT_FOUND' }),
    );
  });

  it('takes no name that could leave its folder, and no record it did not write', () => {
    keepPrevious(home, record('web-1', 1, '../etc'));
    keepPrevious(home, record('../../x', 1));
    expect(() => readdirSync(join(home, 'instances-previous', 'web'))).toThrow();
    expect(() => readPrevious(home, '../etc/passwd')).toThrow(
      expect.objectContaining({ code: 'E_INSTANCE_NOT_FOUND' }),
    );
    keepPrevious(home, record('web-2', 1));
    writeFileSync(join(home, 'instances-previous', 'web', 'web-3.json'), '{"id":1}');
    expect(() => readPrevious(home, 'web-3')).toThrow(
      expect.objectContaining({ code: 'E_PREVIOUS_NOT_FOUND' }),
    );
  });
});
