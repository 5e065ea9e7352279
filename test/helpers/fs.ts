import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';

/** A fresh temporary folder per test, removed afterwards. */
export function useTempDirs(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), 'ingot-test-'));
    made.push(d);
    return d;
  };
}

export type TreeSpec = Record<
  string,
  | string
  | Buffer
  | { content: string | Buffer; mode?: number }
  | { symlink: string }
  | { dir: true; mode?: number }
>;

/** Write files, folders and symlinks; keys are paths relative to `root`. */
export function writeTree(root: string, spec: TreeSpec): void {
  for (const [rel, value] of Object.entries(spec)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof value === 'string' || Buffer.isBuffer(value)) writeFileSync(path, value);
    else if ('symlink' in value) symlinkSync(value.symlink, path);
    else if ('dir' in value) {
      mkdirSync(path, { recursive: true });
      if (value.mode !== undefined) chmodSync(path, value.mode);
    } else {
      writeFileSync(path, value.content);
      if (value.mode !== undefined) chmodSync(path, value.mode);
    }
  }
}

/**
 * Every path under `root` with type, mode, size and content hash: equal snapshots mean
 * nothing was added, removed or changed.
 */
export function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path);
      if (st.isDirectory()) {
        out.push(`${r}/ ${st.mode.toString(8)}`);
        walk(path, r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(path)}`);
      else
        out.push(
          `${r} ${st.mode.toString(8)} ${st.size} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`,
        );
    }
  };
  walk(root, '');
  return out;
}

/** Give every entry under `root` a different, arbitrary mtime. */
export function scrambleMtimes(root: string, seed: number): void {
  let s = seed;
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isDirectory()) walk(path);
      if (st.isSymbolicLink()) continue;
      s = (s * 1103515245 + 12345) % 2 ** 31;
      utimesSync(path, s % 2e9, (s * 7) % 2e9);
    }
  };
  walk(root);
}

/** Unmount whatever a failed test left mounted under `root` (deepest first), so rm can go. */
export function unmountUnder(root: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === root || p.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync('umount', ['-l', p]);
}

/**
 * A test's own folder that other users may pass through (0711), as the folders above a real
 * home are: the agent then runs instances in user namespaces, its default, instead of
 * falling back to none because mkdtemp's 0700 blocks runc inside the namespace.
 */
export function passableTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  return dir;
}
