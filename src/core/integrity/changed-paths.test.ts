import { describe, expect, it } from 'vitest';
import type { MeasuredEntry } from '../../domain/measurement.js';
import { changedPathDrifts, changedPathFindings } from './changed-paths.js';
import type { ObservedEntry } from './diff.js';

const app: MeasuredEntry = {
  path: '/bin/app',
  type: 'file',
  mode: 0o755,
  uid: 0,
  gid: 0,
  size: 7,
  sha256: 'a'.repeat(64),
};
const measured = new Map([[app.path, app]]);
const { path: _path, ...asMeasured }: MeasuredEntry = app;
const emptyDir: ObservedEntry = { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 };

describe('changed paths', () => {
  it('says what differs at each path an event named', () => {
    const disk = new Map<string, ObservedEntry>([
      ['/bin/app', { ...asMeasured, sha256: 'b'.repeat(64) }],
      ['/bin/extra', asMeasured],
    ]);
    const drifts = changedPathDrifts(
      ['/bin/app', '/bin/extra', '/gone'],
      new Map([...measured, ['/gone', { ...app, path: '/gone' }]]),
      new Set(),
      (p) => disk.get(p) ?? null,
    );
    expect(drifts).toEqual([
      expect.objectContaining({ kind: 'changed', path: '/bin/app', field: 'sha256' }),
      { kind: 'added', path: '/bin/extra', actual: 'file' },
      { kind: 'removed', path: '/gone', expected: 'file' },
    ]);
  });

  it('lets the host add empty mount points where allowed, and nothing else', () => {
    const observe = () => emptyDir;
    expect(changedPathDrifts(['/tmp'], measured, new Set(['/tmp']), observe)).toEqual([]);
    expect(changedPathDrifts(['/tmp2'], measured, new Set(['/tmp']), observe)).toEqual([
      { kind: 'added', path: '/tmp2', actual: 'dir' },
    ]);
  });

  it('fails closed on a path it cannot read', () => {
    const observe = () => {
      throw new Error('EACCES: permission denied');
    };
    expect(changedPathDrifts(['/bin/app'], measured, new Set(), observe)).toEqual([
      {
        kind: 'changed',
        path: '/bin/app',
        field: 'type',
        expected: 'readable',
        actual: 'EACCES: permission denied',
      },
    ]);
  });

  it('reports an event even when every path reads as measured again', () => {
    const drifts = changedPathDrifts(['/bin/app'], measured, new Set(), () => asMeasured);
    expect(drifts).toEqual([]);
    expect(changedPathFindings(['/bin/app', '/bin/app'], drifts)).toEqual([
      {
        path: '/bin/app',
        expected: 'no change on disk',
        actual: 'changed on disk (2 path(s)), though it reads as measured now',
      },
    ]);
    expect(changedPathFindings([], [])[0]?.path).toBe('/');
  });
});
