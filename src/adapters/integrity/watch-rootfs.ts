import { lstatSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { IngotError } from '../../domain/errors.js';

export interface RootfsWatch {
  close(): void;
}

/**
 * Watch a materialised rootfs for any change: content, mode, owner, links, entries added,
 * removed, renamed or exchanged. Nothing legitimate ever writes to a rootfs after it is
 * verified, so every event is reported, whatever the path reads like afterwards: a file
 * written, run and restored, or a file renamed over with an identical copy, is still a
 * change.
 *
 * One inotify watch per folder (not per file), through Node's plain `fs.watch`: a folder's
 * watch reports every change to its entries by name (IN_MODIFY, IN_ATTRIB, IN_CREATE,
 * IN_DELETE, IN_MOVED_FROM/TO) and to itself. Node's recursive mode is not used: on Linux
 * it is a JavaScript layer that follows symlinks and drops events for names it has seen, so
 * a symlink retargeted or a file swapped by rename would go unreported. inotify is per
 * inode, so a write through the host path, /proc/<pid>/root or another bind mount all
 * arrive. Symlinks are never followed when the tree is walked.
 *
 * Paths are delivered in batches, coalesced over one turn of the event loop, as image paths
 * ("/etc/passwd"). Setting the watch up either covers every folder or throws
 * (E_ROOTFS_WATCH). If a watch fails later (the queue overflowed) `onError` is told: events
 * may have been lost, and only a full check can say what changed.
 */
export function watchRootfs(
  root: string,
  onPaths: (paths: string[]) => void,
  onError: (err: Error) => void,
): RootfsWatch {
  const watchers: FSWatcher[] = [];
  let pending = new Set<string>();
  let scheduled = false;
  let closed = false;
  const flush = () => {
    scheduled = false;
    const paths = [...pending];
    pending = new Set();
    if (paths.length > 0 && !closed) onPaths(paths);
  };
  const fail = (err: unknown) => {
    if (!closed) onError(err instanceof Error ? err : new Error(String(err)));
  };
  const add = (abs: string, image: string) => {
    const w = watch(abs, { persistent: false }, (_event, name) => {
      pending.add(name === null ? image || '/' : `${image}/${name.toString()}`);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
    w.on('error', fail);
    watchers.push(w);
  };
  const walk = (abs: string, image: string) => {
    add(abs, image);
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const path = join(abs, entry.name);
      // Some filesystems do not say an entry's type in the listing: ask, never following.
      const known = entry.isDirectory() || entry.isFile() || entry.isSymbolicLink();
      if (known ? entry.isDirectory() : lstatSync(path).isDirectory())
        walk(path, `${image}/${entry.name}`);
    }
  };
  try {
    walk(root, '');
  } catch (err) {
    // A tree that cannot be watched whole (the inotify limit, a folder that cannot be read)
    // is not watched at all: the caller must not run from it as if it were.
    closed = true;
    for (const w of watchers) w.close();
    throw new IngotError(
      'E_ROOTFS_WATCH',
      `cannot watch ${root}: ${err instanceof Error ? err.message : 'unknown error'} (raise fs.inotify.max_user_watches if it is the limit)`,
    );
  }
  return {
    close() {
      closed = true;
      for (const w of watchers) w.close();
      watchers.length = 0;
    },
  };
}
