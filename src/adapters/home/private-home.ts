import { chmodSync, lstatSync, mkdirSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { IngotError } from '../../domain/errors.js';
import { errnoOf } from '../shared/errno.js';

/**
 * $INGOT_HOME holds what no other local user may read: the admin token, signing keys, and
 * state.db with every fleet's environment (passwords included). Whichever command creates
 * it, it is made 0700 here, before anything is put in it (a recursive mkdir of a subfolder
 * would otherwise make it 0755 under the usual umask).
 */
export function makeHome(home: string): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
}

/** Folders whose content is the user's or the artifact's, modes and all: never changed. */
const OPAQUE = new Set(['rootfs', 'volumes', 'store']);
/**
 * Folders that are search-only for others (0711) where instances run in user namespaces:
 * runc mounts their rootfs and volumes from inside the namespace, through them (see
 * rootfs/id-gate.ts). Search lets no one list or read anything: every name in them is
 * private itself, and each id range's own folder below is a 0710 gate for its group alone.
 */
const SEARCHABLE = new Set(['.', 'rootfs', 'volumes']);
/** Folders of Ingot's own files, one level deep (instances/<id>/ two). */
const OWN = new Set(['keys', 'agent', 'cache', 'cni', 'runc', 'instances']);

/**
 * Take group and other access away from the home and Ingot's own files in it, as a home
 * made by an older version or under a looser umask left them (state.db 0644, its WAL, the
 * log, the keys). Returns what was changed ("state.db 644→600"), to be said out loud.
 * A home that is not a folder owned by this user, or that others can write to, is left
 * alone: the claim refuses it (E_HOME_UNSAFE). Read access is repaired; write access is
 * not, where others could reach the file: what they could write cannot be trusted, so a
 * file of Ingot's that others could change is refused too, for the owner to check.
 * The artifacts' trees (rootfs), volumes and the store keep their modes: those are content
 * (a rootfs's modes are measured; changing them would be drift), and they sit behind the
 * home's 0700.
 */
export function repairHome(home: string): string[] {
  const st = lstatOrNull(home);
  const euid = process.geteuid?.();
  if (!st?.isDirectory() || (euid !== undefined && st.uid !== euid) || (st.mode & 0o022) !== 0)
    return [];
  const reachable = (st.mode & 0o011) !== 0;
  const repaired: string[] = [];
  const fix = (path: string, name: string, info: Stats): void => {
    const allowed = info.isDirectory() && SEARCHABLE.has(name) ? 0o711 : 0o700;
    if ((info.mode & 0o777 & ~allowed) === 0 || info.isSymbolicLink()) return;
    if (euid !== undefined && info.uid !== euid) return;
    if (reachable && (info.mode & 0o022) !== 0)
      throw new IngotError(
        'E_HOME_UNSAFE',
        `${path} could be changed by other users (mode ${octal(info.mode & 0o777)}, in a home they could enter): its content cannot be trusted. Check it or restore it from a backup, run chmod go-w ${path}, then ingot up again`,
        { details: { path } },
      );
    const before = info.mode & 0o777;
    chmodSync(path, before & 0o700);
    repaired.push(`${name} ${octal(before)}→${octal(before & 0o700)}`);
  };
  fix(home, '.', st);
  const walk = (dir: string, prefix: string, depth: number): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const name = prefix ? `${prefix}/${entry}` : entry;
      const info = lstatOrNull(path);
      if (!info || !(info.isFile() || info.isDirectory())) continue;
      fix(path, name, info);
      if (!info.isDirectory() || depth === 0) continue;
      if (prefix === '' && OPAQUE.has(entry)) continue;
      if (prefix === '' && !OWN.has(entry)) continue;
      walk(path, name, prefix === '' && entry === 'instances' ? 1 : 0);
    }
  };
  walk(home, '', 1);
  return repaired;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return null;
    throw err;
  }
}

const octal = (mode: number): string => mode.toString(8).padStart(3, '0');
