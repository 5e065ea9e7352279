import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { MeasuredEntry } from '../../src/domain/measurement.js';

/** Measure an unpacked rootfs the way the measurement describes one (root excluded). */
export function measureTree(root: string): MeasuredEntry[] {
  const out: MeasuredEntry[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const path = `${prefix}/${name}`;
      const st = lstatSync(abs);
      const base = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        out.push({ ...base, type: 'dir', size: 0 });
        walk(abs, path);
      } else if (st.isSymbolicLink())
        out.push({ ...base, type: 'symlink', mode: 0o777, size: 0, target: readlinkSync(abs) });
      else
        out.push({
          ...base,
          type: 'file',
          size: st.size,
          sha256: createHash('sha256').update(readFileSync(abs)).digest('hex'),
        });
    }
  };
  walk(root, '');
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The measurement as comparable rows (hard-link provenance is not visible on disk). */
export function comparable(entries: readonly MeasuredEntry[]): MeasuredEntry[] {
  return entries.map(({ hardlink: _h, ...e }) => e).sort((a, b) => (a.path < b.path ? -1 : 1));
}
