import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHome, repairHome } from './private-home.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const root = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-home-'));
  dirs.push(dir);
  return dir;
};
const mode = (path: string): number => statSync(path).mode & 0o777;

describe('the private home', () => {
  it('is made 0700', () => {
    const home = join(root(), 'a', 'home');
    makeHome(home);
    expect(mode(home)).toBe(0o700);
  });

  it("repairs Ingot's own files and folders, and says which, but not artifacts, volumes or the store", () => {
    const home = join(root(), 'home');
    const loose = {
      dirs: ['', 'keys', 'instances', 'instances/web-1', 'rootfs', 'volumes', 'store'],
      files: [
        'state.db',
        'state.db-wal',
        'server.log',
        'keys/ledger.key',
        'instances/web-1/config.json',
      ],
    };
    const content = ['rootfs/img/rootfs/bin', 'volumes/web/data/file', 'store/blobs/sha256/ab'];
    for (const d of loose.dirs) mkdirSync(join(home, d), { recursive: true });
    for (const f of content) {
      mkdirSync(join(home, f, '..'), { recursive: true });
      writeFileSync(join(home, f), 'x');
      chmodSync(join(home, f), 0o755);
    }
    for (const d of loose.dirs) chmodSync(join(home, d), 0o755);
    for (const f of loose.files) writeFileSync(join(home, f), 'x', { mode: 0o644 });
    const repaired = repairHome(home);
    for (const d of loose.dirs) expect(mode(join(home, d)), d).toBe(0o700);
    for (const f of loose.files) expect(mode(join(home, f)), f).toBe(0o600);
    for (const f of content) expect(mode(join(home, f)), f).toBe(0o755);
    expect(repaired).toContain('. 755→700');
    expect(repaired).toContain('instances/web-1/config.json 644→600');
    expect(repairHome(home)).toEqual([]);
  });

  it('leaves search-only the folders runc passes into a user namespace, and nothing else', () => {
    const home = join(root(), 'home');
    for (const d of ['', 'rootfs', 'volumes', 'keys'])
      mkdirSync(join(home, d), { recursive: true });
    for (const d of ['', 'rootfs', 'volumes', 'keys']) chmodSync(join(home, d), 0o711);
    writeFileSync(join(home, 'state.db'), 'x', { mode: 0o600 });
    expect(repairHome(home)).toEqual(['keys 711→700']);
    for (const d of ['', 'rootfs', 'volumes']) expect(mode(join(home, d)), d).toBe(0o711);
    // Listable is not search-only: repaired to private, as before.
    chmodSync(home, 0o751);
    expect(repairHome(home)).toEqual(['. 751→700']);
  });
});

describe('what others could write is not repaired', () => {
  it('leaves a home others can write to for the claim to refuse', () => {
    const home = join(root(), 'home');
    mkdirSync(home);
    chmodSync(home, 0o777);
    expect(repairHome(home)).toEqual([]);
    expect(mode(home)).toBe(0o777);
  });

  it('refuses a file of its own others could change in a home they could enter', () => {
    const home = join(root(), 'home');
    mkdirSync(home, { mode: 0o755 });
    chmodSync(home, 0o755);
    writeFileSync(join(home, 'token'), 'x', { mode: 0o666 });
    chmodSync(join(home, 'token'), 0o666);
    expect(() => repairHome(home)).toThrow(expect.objectContaining({ code: 'E_HOME_UNSAFE' }));
    // Behind a home only its owner could enter, no one else could have written it.
    chmodSync(home, 0o700);
    expect(repairHome(home)).toEqual(['token 666→600']);
  });
});
