import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import type { ObservedEntry } from '../../core/integrity/diff.js';
import { CHUNK, hashPinned } from './hash-pinned.js';
import type { HashOutcome } from './hash-protocol.js';
import { RootfsVerifyError } from './verify-errors.js';

/**
 * The rootfs belongs to whatever runs in it, and that may rename, swap and replace paths
 * while the host reads them. A path string resolved twice can name two different things:
 * a folder listed once may be a symlink to the host's /etc by the time its children are
 * looked up. So every folder is opened once, never through a symlink, and its children are
 * reached through that descriptor as `/proc/self/fd/N/name`: the kernel resolves only the
 * last component, as openat(2) would (Node has no openat). What is recorded of a folder or
 * a file is read from its own descriptor (fstat), so it describes the object that was read.
 *
 * A listing's file types (d_type) decide what to do with each name without an lstat: files
 * go to the workers, which open and fstat them; folders are opened here; only symlinks and
 * special files are lstat'ed. A name whose kind changed by the time it is used is looked at
 * again with lstat, a few times at most.
 */

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** How often a path may change under the verifier before it gives up on that path. */
const ATTEMPTS = 3;
/** errno of a path that changed between two calls (gone, or now another kind of thing). */
const CHANGED = new Set(['ENOENT', 'ELOOP', 'ENOTDIR', 'EINVAL']);
const RETRY = Symbol('retry');

type Pinned = string | Buffer;
type Kind = 'file' | 'dir' | 'symlink' | 'other' | 'unknown';

/** Holds a file's place in `observed` (tree order) until its worker reports. */
const UNHASHED: ObservedEntry = { type: 'file', mode: 0, uid: 0, gid: 0, size: 0 };

/** An open folder: closed once it is listed and no file of it waits to be hashed. */
export class Folder {
  readonly pinned: string;
  pending = 0;
  listed = false;
  constructor(readonly fd: number) {
    this.pinned = `/proc/self/fd/${fd}`;
  }
  child(name: Buffer | string): Pinned {
    return typeof name === 'string'
      ? `${this.pinned}/${name}`
      : Buffer.concat([Buffer.from(`${this.pinned}/`), name]);
  }
}

/** A file the walk found, to be hashed. */
export interface FileTask {
  /** Image path ("/etc/passwd"). */
  readonly path: string;
  readonly pinned: Pinned;
  readonly folder: Folder;
}

interface Name {
  /** Its part of the image path. */
  readonly name: string;
  /** What to append to the folder's pinned path. */
  readonly raw: Buffer | string;
  readonly kind: Kind;
}

interface Frame {
  readonly folder: Folder;
  readonly prefix: string;
  readonly names: readonly Name[];
  next: number;
}

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? '';
}

function kindOf(d: Dirent<Buffer> | Stats): Kind {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  return 'other';
}

/**
 * Names are read as bytes. A name that is not UTF-8 cannot be in a measurement, and it must
 * not vanish either (decoded lossily, it would name nothing on disk): it gets a path that no
 * real path can equal, because real paths never hold "//".
 */
function nameOf(d: Dirent<Buffer>): Name {
  const raw = d.name;
  const name = raw.toString('utf8');
  // Bytes that are not UTF-8 decode to U+FFFD; only then is the slower round trip needed.
  if (!name.includes('\ufffd') || Buffer.from(name).equals(raw))
    return { name, raw: name, kind: kindOf(d) };
  return { name: `${name}//bytes:${raw.toString('hex')}`, raw, kind: kindOf(d) };
}

/**
 * Walks a rootfs in the order of scanTree (names sorted, each folder before its content),
 * recording what it sees in `observed`, and hands out its files in batches to be hashed.
 */
export class PinnedWalk {
  /** Image path → what is there; a file is complete once `settle` has its outcome. */
  readonly observed = new Map<string, ObservedEntry>();
  private readonly stack: Frame[] = [];
  private readonly open = new Set<Folder>();
  private buffer: Buffer | undefined;
  /** Files handed out and not yet settled: must be none before `observed` is used. */
  private unsettled = 0;

  constructor(private readonly root: string) {
    let fd: number;
    try {
      fd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (err) {
      throw new RootfsVerifyError(
        'E_ROOTFS_VERIFY_ROOT',
        `cannot open the rootfs ${root}: ${errno(err)}`,
        { cause: err, details: { root } },
      );
    }
    const folder = this.hold(fd);
    try {
      this.enter(folder, '');
    } catch (err) {
      this.close();
      if (err instanceof RootfsVerifyError && err.details['code'] === 'ENOENT')
        throw new RootfsVerifyError(
          'E_ROOTFS_VERIFY_PROC',
          `cannot read ${root} through /proc/self/fd: mount /proc (the verifier reads the tree through open folders so that no symlink is ever followed)`,
          { cause: err },
        );
      throw err;
    }
  }

  get done(): boolean {
    return this.stack.length === 0;
  }

  get openFolders(): number {
    return this.open.size;
  }

  /** Every path walked, every file hashed: `observed` is the whole tree. */
  get complete(): boolean {
    return this.stack.length === 0 && this.unsettled === 0;
  }

  /**
   * Walk on until `maxFiles` files are found, `maxFolders` folders are held open, or the
   * tree ends. An empty result means the walk is done.
   */
  next(maxFiles: number, maxFolders: number): FileTask[] {
    const batch: FileTask[] = [];
    while (this.stack.length > 0 && batch.length < maxFiles) {
      const frame = this.stack[this.stack.length - 1]!;
      if (frame.next === frame.names.length) {
        this.stack.pop();
        frame.folder.listed = true;
        this.release(frame.folder);
        continue;
      }
      if (batch.length > 0 && this.open.size >= maxFolders) break;
      const { name, raw, kind } = frame.names[frame.next++]!;
      const path = `${frame.prefix}/${name}`;
      const task = this.observe(frame.folder, path, frame.folder.child(raw), kind);
      if (task) {
        task.folder.pending++;
        this.unsettled++;
        batch.push(task);
      }
    }
    return batch;
  }

  /**
   * Record a file's outcome. A file that was gone or no longer a file when its worker
   * opened it is looked at again from its folder and, if it is a file again, hashed here.
   */
  settle(task: FileTask, outcome: HashOutcome): void {
    try {
      for (let attempt = 1; ; attempt++) {
        switch (outcome.kind) {
          case 'hashed': {
            const { digest, mode, uid, gid, size } = outcome;
            const sha256 = Buffer.from(digest.buffer, digest.byteOffset, 32).toString('hex');
            this.observed.set(task.path, { type: 'file', mode, uid, gid, size, sha256 });
            return;
          }
          case 'failed':
            throw new RootfsVerifyError(
              'E_ROOTFS_VERIFY_READ',
              `cannot read ${task.path} in ${this.root}: ${outcome.message}`,
              { details: { path: task.path, code: outcome.code } },
            );
          case 'gone':
          case 'raced':
            break;
        }
        if (attempt === ATTEMPTS) throw this.unstable(task.path);
        if (!this.observe(task.folder, task.path, task.pinned, 'unknown')) return; // not a file now
        outcome = hashPinned(task.pinned, (this.buffer ??= Buffer.allocUnsafe(CHUNK)));
      }
    } finally {
      task.folder.pending--;
      this.unsettled--;
      this.release(task.folder);
    }
  }

  /** Close every folder still open. Only once no worker uses them any more. */
  close(): void {
    for (const folder of this.open) closeSync(folder.fd);
    this.open.clear();
    this.stack.length = 0;
  }

  /**
   * Record what is at `path` (`kind` as its folder's listing said); a file is returned to
   * be hashed, a folder is entered.
   */
  private observe(folder: Folder, path: string, pinned: Pinned, kind: Kind): FileTask | null {
    let changes = 0;
    let st: Stats | undefined;
    for (;;) {
      if (kind === 'file') {
        this.observed.set(path, this.observed.get(path) ?? UNHASHED);
        return { path, pinned, folder };
      }
      if (kind === 'dir') {
        const fd = this.attempt(() => openSync(pinned, DIR_FLAGS), path);
        if (fd !== RETRY) {
          const child = this.hold(fd);
          const own = fstatSync(fd);
          this.observed.set(path, {
            type: 'dir',
            mode: own.mode & 0o7777,
            uid: own.uid,
            gid: own.gid,
            size: 0,
          });
          this.enter(child, path);
          return null;
        }
      } else if (st === undefined || kind === 'unknown') {
        const seen = this.attempt(() => lstatSync(pinned), path);
        if (seen === RETRY) {
          this.observed.delete(path); // gone
          return null;
        }
        st = seen;
        kind = kindOf(st);
        continue;
      } else if (kind === 'symlink') {
        const target = this.attempt(() => readlinkSync(pinned, 'utf8'), path);
        if (target !== RETRY) {
          this.observed.set(path, {
            type: 'symlink',
            uid: st.uid,
            gid: st.gid,
            mode: 0o777,
            size: 0,
            target,
          });
          return null;
        }
      } else {
        // FIFOs, sockets and devices are never opened: opening one can block, or act.
        this.observed.set(path, {
          type: 'other',
          mode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
          size: 0,
        });
        return null;
      }
      if (++changes === ATTEMPTS) throw this.unstable(path);
      kind = 'unknown';
    }
  }

  /** List a folder just opened and make it the next one walked. */
  private enter(folder: Folder, prefix: string): void {
    let entries: Dirent<Buffer>[];
    try {
      entries = readdirSync(folder.pinned, { encoding: 'buffer', withFileTypes: true });
    } catch (err) {
      throw this.readError(prefix || '/', err);
    }
    // The order of scanTree (readdirSync(...).sort()), so that results list paths alike.
    const names = entries
      .map(nameOf)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.stack.push({ folder, prefix, names, next: 0 });
  }

  /** Run a call on a path; RETRY if the path changed under it, an error if it failed. */
  private attempt<T>(call: () => T, path: string): T | typeof RETRY {
    try {
      return call();
    } catch (err) {
      if (CHANGED.has(errno(err))) return RETRY;
      throw this.readError(path, err);
    }
  }

  private hold(fd: number): Folder {
    const folder = new Folder(fd);
    this.open.add(folder);
    return folder;
  }

  private release(folder: Folder): void {
    if (!folder.listed || folder.pending > 0 || !this.open.delete(folder)) return;
    closeSync(folder.fd);
  }

  private readError(path: string, err: unknown): RootfsVerifyError {
    return new RootfsVerifyError(
      'E_ROOTFS_VERIFY_READ',
      `cannot read ${path} in ${this.root}: ${(err as Error).message}`,
      { cause: err, details: { path, code: errno(err) } },
    );
  }

  private unstable(path: string): RootfsVerifyError {
    return new RootfsVerifyError(
      'E_ROOTFS_VERIFY_UNSTABLE',
      `${path} in ${this.root} changed on each of ${ATTEMPTS} attempts to read it: something is writing to this rootfs while it is verified`,
      { details: { path } },
    );
  }
}
