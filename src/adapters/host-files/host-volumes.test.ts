import {
  chownSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { slotRange } from '../../core/runtime/id-ranges.js';
import { HomeVolumes } from './host-volumes.js';

const owners = (path: string) => {
  const st = lstatSync(path);
  return [st.uid, st.gid];
};

// Needs root (chown), as the agent does; CI runs as root.
describe('volumes follow their instances’ ids', () => {
  let home: string;
  let outside: string;
  const A = slotRange(7);
  const B = slotRange(9);

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'ingot-volumes-'));
    outside = join(home, 'outside');
    writeFileSync(outside, 'not the volume’s');
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  /** A volume as one made before user namespaces: root's, a user's, and a link out. */
  function oldVolume(dir: string): void {
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'sub', 'owned-by-1000'), '');
    chownSync(join(dir, 'sub', 'owned-by-1000'), 1000, 1000);
    writeFileSync(join(dir, 'root-file'), '');
    // A hostile instance's link: the walk must change the link, never what it points to.
    symlinkSync(outside, join(dir, 'sub', 'escape'));
    symlinkSync(home, join(dir, 'dir-escape'));
  }

  it('a fleet’s own volume moves into its range, then into a new one, then back out', async () => {
    const volumes = new HomeVolumes(home);
    const dir = join(home, 'volumes', 'web', 'data');
    oldVolume(dir);
    const source = { kind: 'fleet', fleet: 'web', name: 'data' } as const;

    expect(await volumes.ensure(source, { uid: A.hostId, gid: A.hostId }, A)).toBe(dir);
    expect(owners(dir)).toEqual([A.hostId, A.hostId]);
    expect(owners(join(dir, 'root-file'))).toEqual([A.hostId, A.hostId]);
    expect(owners(join(dir, 'sub', 'owned-by-1000'))).toEqual([A.hostId + 1000, A.hostId + 1000]);
    expect(owners(join(dir, 'sub', 'escape'))).toEqual([A.hostId, A.hostId]);
    expect(owners(outside)).toEqual([0, 0]);
    expect(owners(home)).toEqual([0, 0]);

    // The fleet's range handed out again (its record lost): the volume follows.
    await volumes.ensure(source, { uid: B.hostId, gid: B.hostId }, B);
    expect(owners(join(dir, 'sub', 'owned-by-1000'))).toEqual([B.hostId + 1000, B.hostId + 1000]);
    // Without user namespaces again: host ids as inside.
    await volumes.ensure(source, { uid: 0, gid: 0 }, null);
    expect(owners(dir)).toEqual([0, 0]);
    expect(owners(join(dir, 'sub', 'owned-by-1000'))).toEqual([1000, 1000]);
    expect(owners(outside)).toEqual([0, 0]);
  });

  it('a shared volume moves out of the host’s ids once, and is not taken from one range by another', async () => {
    const volumes = new HomeVolumes(home);
    const dir = join(home, 'volumes', '_shared', 'common');
    oldVolume(dir);
    const source = { kind: 'shared', source: 'common' } as const;
    await volumes.ensure(source, { uid: A.hostId, gid: A.hostId }, A);
    expect(owners(join(dir, 'root-file'))).toEqual([A.hostId, A.hostId]);
    await volumes.ensure(source, { uid: B.hostId, gid: B.hostId }, B);
    expect(owners(join(dir, 'root-file'))).toEqual([A.hostId, A.hostId]);
  });

  it('a volume in the range already is left as it is', async () => {
    const volumes = new HomeVolumes(home);
    const dir = join(home, 'volumes', 'web', 'data');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'stray'), '');
    // Owned by an id no instance had: the walk would leave it, and none runs at all.
    lchownSync(join(dir, 'stray'), 70_000, 70_000);
    chownSync(dir, A.hostId + 5, A.hostId + 5);
    await volumes.ensure({ kind: 'fleet', fleet: 'web', name: 'data' }, { uid: 0, gid: 0 }, A);
    expect(owners(dir)).toEqual([A.hostId + 5, A.hostId + 5]);
    expect(owners(join(dir, 'stray'))).toEqual([70_000, 70_000]);
  });
});
