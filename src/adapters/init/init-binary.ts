import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { IngotError } from '../../domain/errors.js';

/** Debian's statically linked tini (package `tini`): it needs nothing from the image. */
export const DEFAULT_INIT_SOURCE = '/usr/bin/tini-static';
/** A static init is small (tini-static: ~700 KiB); anything far larger is not one. */
const MAX_INIT_BYTES = 16 * 1024 * 1024;

export interface InitBinary {
  /** Host folder holding only the init, named by its digest: what is bind-mounted. */
  readonly folder: string;
  /** sha256 of the init, as recorded with every start that runs it. */
  readonly digest: `sha256:${string}`;
  /** The file's identity: what a process inside runs when it runs the recorded init. */
  readonly file: { readonly dev: number; readonly ino: number };
}

/**
 * The init every instance that asks for one gets, prepared once: the host's tini copied into
 * `<dir>/sha256-<hex>/<name>` (written aside and renamed into place, never half-written;
 * read-only, root's). A copy, not the package's file: an upgrade of the package (or anyone
 * who can write /usr/bin) must not change what runs in instances, nor what was recorded
 * for them; the folder's name is the digest of what it holds, checked again on reuse.
 */
export function initBinary(
  dir: string,
  name: string,
  source: string = DEFAULT_INIT_SOURCE,
): () => InitBinary {
  let prepared: InitBinary | null = null;
  return () => {
    prepared ??= prepare(dir, name, source);
    return prepared;
  };
}

function prepare(dir: string, name: string, source: string): InitBinary {
  let bytes: Buffer;
  try {
    if (statSync(source).size > MAX_INIT_BYTES) throw new Error('too large for a static init');
    bytes = readFileSync(source);
  } catch (err) {
    throw new IngotError(
      'E_INIT',
      `this image asks for an init (runtime: init: true), but ${source} cannot be read: ${err instanceof Error ? err.message : String(err)}; install Debian's tini package (scripts/setup does)`,
    );
  }
  const hex = createHash('sha256').update(bytes).digest('hex');
  const folder = join(dir, `sha256-${hex}`);
  const file = join(folder, name);
  if (!matches(folder, file, hex)) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const temp = join(dir, `.tmp-${hex}-${process.pid}`);
    rmSync(temp, { recursive: true, force: true });
    mkdirSync(temp);
    // Whatever the umask (the server's is 077): the instance's user must reach and run it.
    chmodSync(temp, 0o755);
    const fd = openSync(join(temp, name), 'wx', 0o555);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(join(temp, name), 0o555);
    rmSync(folder, { recursive: true, force: true });
    renameSync(temp, folder);
  }
  const st = statSync(file);
  return { folder, digest: `sha256:${hex}`, file: { dev: st.dev, ino: st.ino } };
}

/** Whether the prepared copy is there, as it was made, and still holds what its name says. */
function matches(folder: string, file: string, hex: string): boolean {
  try {
    const uid = process.getuid?.() ?? 0;
    const [d, f] = [statSync(folder), statSync(file)];
    if (d.uid !== uid || f.uid !== uid || (d.mode & 0o7777) !== 0o755) return false;
    if ((f.mode & 0o7777) !== 0o555) return false;
    return createHash('sha256').update(readFileSync(file)).digest('hex') === hex;
  } catch {
    return false;
  }
}
