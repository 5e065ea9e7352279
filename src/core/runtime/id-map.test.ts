import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeasuredEntry } from '../../domain/measurement.js';
import { idMapOfSpec, shiftOwners, toHost } from './id-map.js';

const MAP = { hostId: 100_000_000, size: 65_536 };
const entry = (uid: number, gid: number): MeasuredEntry => ({
  path: '/f',
  type: 'file',
  mode: 0o644,
  uid,
  gid,
  size: 0,
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
});

describe('id maps', () => {
  it('shifts every owner by the range start, and nothing else', () => {
    fc.assert(
      fc.property(fc.nat(65_535), fc.nat(65_535), (uid, gid) => {
        const r = shiftOwners([entry(uid, gid)], MAP);
        expect(r).toEqual({
          entries: [{ ...entry(uid, gid), uid: MAP.hostId + uid, gid: MAP.hostId + gid }],
        });
      }),
    );
  });

  it('refuses an owner the range cannot hold: it would be some other host user', () => {
    expect(shiftOwners([entry(0, 0), entry(65_536, 0)], MAP)).toEqual({
      unmapped: entry(65_536, 0),
    });
    expect(shiftOwners([entry(0, 70_000)], MAP)).toEqual({ unmapped: entry(0, 70_000) });
    expect(toHost(MAP, -1)).toBeNull();
  });

  it('without a map, nothing moves', () => {
    const e = [entry(5, 6)];
    expect(shiftOwners(e, null)).toEqual({ entries: e });
    expect(toHost(null, 7)).toBe(7);
  });

  it('reads back the mapping a runtime config was written with', () => {
    const spec = {
      linux: { uidMappings: [{ containerID: 0, hostID: 100_065_536, size: 65_536 }] },
    };
    expect(idMapOfSpec(spec)).toEqual({ hostId: 100_065_536, size: 65_536 });
    expect(idMapOfSpec({ linux: {} })).toBeNull();
    expect(idMapOfSpec(null)).toBeNull();
    expect(
      idMapOfSpec({ linux: { uidMappings: [{ containerID: 1, hostID: 5, size: 1 }] } }),
    ).toBeNull();
  });
});
