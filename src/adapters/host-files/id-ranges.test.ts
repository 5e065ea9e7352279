import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostIdRanges } from './id-ranges.js';

const made: string[] = [];
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-idr-'));
  made.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

const overlap = (a: { hostId: number; size: number }, b: { hostId: number; size: number }) =>
  a.hostId < b.hostId + b.size && b.hostId < a.hostId + a.size;

describe('id ranges on a host', () => {
  it('gives every fleet of every home its own range, and the same one each time', () => {
    const registry = join(temp(), 'userns');
    const [h1, h2] = [temp(), temp()];
    const got = [
      new HostIdRanges(h1, registry).rangeFor('web'),
      new HostIdRanges(h1, registry).rangeFor('db'),
      new HostIdRanges(h2, registry).rangeFor('web'),
    ];
    for (let i = 0; i < got.length; i++)
      for (let j = i + 1; j < got.length; j++) expect(overlap(got[i]!, got[j]!)).toBe(false);
    expect(new HostIdRanges(h1, registry).rangeFor('web')).toEqual(got[0]);
    expect(got.every((r) => r.size === 65_536 && r.hostId >= 100_000_000)).toBe(true);
  });

  it('a fleet keeps its range when the host-wide record is lost (/run after a reboot)', () => {
    const registry = join(temp(), 'userns');
    const home = temp();
    const before = new HostIdRanges(home, registry).rangeFor('web');
    rmSync(registry, { recursive: true });
    expect(new HostIdRanges(home, registry).rangeFor('web')).toEqual(before);
  });

  it('a range whose home is gone is given out again; a live one never', () => {
    const registry = join(temp(), 'userns');
    mkdirSync(registry, { mode: 0o700 });
    const gone = join(temp(), 'gone');
    const home = temp();
    const first = new HostIdRanges(home, registry).rangeFor('web');
    // Another home's claim on exactly the slot this owner hashes to, then that home removed.
    new HostIdRanges(home, registry).releaseAll();
    const slot = readdirSync(registry).length; // nothing left after release
    expect(slot).toBe(0);
    writeFileSync(
      join(registry, String((first.hostId - 100_000_000) / 65_536)),
      JSON.stringify({ home: gone, fleet: 'x' }),
    );
    expect(new HostIdRanges(home, registry).rangeFor('web')).toEqual(first);
    // And a live home's claim is respected: the owner moves on to another range.
    const other = temp();
    new HostIdRanges(home, registry).releaseAll();
    writeFileSync(
      join(registry, String((first.hostId - 100_000_000) / 65_536)),
      JSON.stringify({ home: other, fleet: 'x' }),
    );
    const moved = new HostIdRanges(home, registry).rangeFor('web');
    expect(moved.hostId).not.toBe(first.hostId);
  });

  it('breaks a lock left by a process that died, and refuses a registry others may write', () => {
    const registry = join(temp(), 'userns');
    mkdirSync(registry, { mode: 0o700 });
    writeFileSync(join(registry, '.lock'), '999999999 x');
    expect(new HostIdRanges(temp(), registry).rangeFor('web').size).toBe(65_536);
    const loose = join(temp(), 'loose');
    mkdirSync(loose, { mode: 0o777 });
    chmodSync(loose, 0o777);
    expect(() => new HostIdRanges(temp(), loose).rangeFor('web')).toThrow(
      expect.objectContaining({ code: 'E_USERNS' }),
    );
  });
});
