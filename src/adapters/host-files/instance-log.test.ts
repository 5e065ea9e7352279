import type * as fs from 'node:fs';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseMarks } from '../../core/runtime/log-marks.js';
import {
  forgetLogMarks,
  markBoundedLog,
  readBoundedLogBytes,
  readLogMarks,
  rotateBoundedLog,
} from './instance-log.js';

/** What a test does at each rename the log code makes (to look at the files between steps). */
const renames = vi.hoisted(() => ({ hook: undefined as ((to: string) => void) | undefined }));
vi.mock('node:fs', async (original) => {
  const actual = await original<typeof fs>();
  return {
    ...actual,
    renameSync: (from: fs.PathLike, to: fs.PathLike) => {
      renames.hook?.(String(to));
      actual.renameSync(from, to);
    },
  };
});

// Without a tmpfs (out/log absent) the current log is <bundle>/log: the same rotation.
const CAP = 16 * 1024; // half of it 8 KiB, rotated from 6 KiB on
const T0 = 1_700_000_000_000;

describe('an instance log and its time marks', () => {
  let bundle: string;
  beforeEach(() => {
    bundle = mkdtempSync(join(tmpdir(), 'ingot-log-'));
  });
  afterEach(() => {
    renames.hook = undefined;
    forgetLogMarks(bundle);
    rmSync(bundle, { recursive: true, force: true });
  });

  const write = (n: number, ch = 'x') => appendFileSync(join(bundle, 'log'), ch.repeat(n));

  it('a rotation moves the marks with the bytes', () => {
    write(3000);
    markBoundedLog(bundle, T0);
    write(4000);
    markBoundedLog(bundle, T0 + 1000);
    rotateBoundedLog(bundle, CAP);
    expect(readBoundedLogBytes(bundle).length).toBe(7000);
    expect(readLogMarks(bundle)).toEqual([
      { at: T0, offset: 3000 },
      { at: T0 + 1000, offset: 7000 },
    ]);
    write(6500);
    markBoundedLog(bundle, T0 + 2000);
    rotateBoundedLog(bundle, CAP);
    // The first 7000 bytes (the old log.1) are gone: offsets move back by them (of two
    // marks now at 0, the earlier stays).
    expect(readBoundedLogBytes(bundle).length).toBe(6500);
    expect(readLogMarks(bundle)).toEqual([
      { at: T0, offset: 0 },
      { at: T0 + 2000, offset: 6500 },
    ]);
  });

  it('the marks are shifted before the rotated bytes are renamed in', () => {
    write(7000);
    markBoundedLog(bundle, T0);
    rotateBoundedLog(bundle, CAP);
    write(6500);
    markBoundedLog(bundle, T0 + 1000);
    // What a reader would get of the marks just as the new log.1 comes in: already shifted
    // (offsets into the bytes it now reads), not those of the log before the rotation.
    let atRename: string | undefined;
    renames.hook = (to) => {
      if (to === join(bundle, 'log.1')) atRename = readFileSync(join(bundle, 'log.marks'), 'utf8');
    };
    rotateBoundedLog(bundle, CAP);
    expect(atRename).toBeDefined();
    expect(parseMarks(atRename!)).toEqual([
      { at: T0, offset: 0 },
      { at: T0 + 1000, offset: 6500 },
    ]);
  });

  it('marks that cannot be shifted (a full disk) are dropped, and marking goes on after', () => {
    write(7000);
    markBoundedLog(bundle, T0);
    rotateBoundedLog(bundle, CAP);
    write(6500);
    markBoundedLog(bundle, T0 + 1000);
    // The marks' temporary file cannot be written (a folder in its place): as on a full disk.
    mkdirSync(join(bundle, 'log.marks.tmp'));
    rotateBoundedLog(bundle, CAP);
    // The log rotated regardless; its old marks (offsets up to 13500) are not left to stamp it.
    expect(readBoundedLogBytes(bundle).length).toBe(6500);
    expect(readLogMarks(bundle)).toEqual([]);
    // The agent's next mark is at the log's length now (6600): kept, not skipped as going
    // back from a cached mark of the log before (13500).
    write(100);
    markBoundedLog(bundle, T0 + 2000);
    expect(readLogMarks(bundle)).toEqual([{ at: T0 + 2000, offset: 6600 }]);
    write(100);
    markBoundedLog(bundle, T0 + 3000);
    expect(readLogMarks(bundle)).toEqual([
      { at: T0 + 2000, offset: 6600 },
      { at: T0 + 3000, offset: 6700 },
    ]);
  });
});
