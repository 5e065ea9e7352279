import { describe, expect, it } from 'vitest';
import type { MeasuredEntry } from '../../domain/measurement.js';
import { executableFinding } from './executables.js';

const app: MeasuredEntry = { path: '/bin/app', type: 'file', mode: 0o755, uid: 0, gid: 0, size: 1 };
const file = { dev: 1, ino: 2 };

describe('executable findings', () => {
  it('accepts the measured file at its path', () => {
    expect(executableFinding('/bin/app', { deleted: false, file }, app, () => file)).toBeNull();
  });

  it('refuses a deleted program, one not in the artifact, and another file under the name', () => {
    const onDisk = () => file;
    expect(executableFinding('/bin/app', { deleted: true, file }, app, onDisk)).toEqual({
      path: '/bin/app',
      expected: 'a measured file',
      actual: 'a deleted file',
    });
    expect(executableFinding('/tmp/x', { deleted: false, file }, undefined, onDisk)?.actual).toBe(
      'not in the artifact',
    );
    const dir = { ...app, type: 'dir' as const };
    expect(executableFinding('/bin', { deleted: false, file }, dir, onDisk)?.actual).toBe(
      'not in the artifact',
    );
    const other = { dev: 1, ino: 3 };
    expect(executableFinding('/bin/app', { deleted: false, file: other }, app, onDisk)).toEqual({
      path: '/bin/app',
      expected: 'the measured file',
      actual: 'another file (device 1, inode 3)',
    });
    expect(executableFinding('/bin/app', { deleted: false, file }, app, () => null)?.actual).toBe(
      'another file (device 1, inode 2)',
    );
  });

  it('reads the file on disk only for a measured file, and trusts a mapping it cannot identify', () => {
    let asked = 0;
    const onDisk = () => (asked++, null);
    executableFinding('/tmp/x', { deleted: false, file }, undefined, onDisk);
    executableFinding('/bin/app', { deleted: true, file }, app, onDisk);
    expect(asked).toBe(0);
    expect(executableFinding('/bin/app', { deleted: false, file: null }, app, onDisk)).toBeNull();
    expect(asked).toBe(1);
  });
});
