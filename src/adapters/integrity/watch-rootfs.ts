import { watch, type FSWatcher } from 'node:fs';

export interface RootfsWatch {
  close(): void;
}

/**
 * Watch a materialised rootfs for any change: content, mode, owner, links, entries added
 * or removed. inotify is per inode, so a write through any path reaches it: the host path,
 * /proc/<pid>/root, or another bind mount of the same folder. Node's recursive watch
 * places one inotify watch per folder and file (about 21,000 for a 20,000-file tree,
 * within the default limit of this kernel).
 *
 * Paths are delivered in batches, coalesced over one turn of the event loop, as image
 * paths ("/etc/passwd"). If the watch fails (the kernel's queue overflowed, a limit was
 * hit) `onError` is told: events may have been lost, and only a full check can say what
 * changed.
 */
export function watchRootfs(
  root: string,
  onPaths: (paths: string[]) => void,
  onError: (err: Error) => void,
): RootfsWatch {
  let pending = new Set<string>();
  let scheduled = false;
  let watcher: FSWatcher | null = null;
  const flush = () => {
    scheduled = false;
    const paths = [...pending];
    pending = new Set();
    if (paths.length > 0) onPaths(paths);
  };
  try {
    watcher = watch(root, { recursive: true, persistent: false }, (_event, name) => {
      if (name === null) {
        onError(new Error(`an event without a path under ${root}`));
        return;
      }
      pending.add(`/${name.toString()}`);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
    watcher.on('error', (err) => onError(err instanceof Error ? err : new Error(String(err))));
  } catch (err) {
    onError(err instanceof Error ? err : new Error(String(err)));
  }
  return {
    close() {
      watcher?.close();
      watcher = null;
    },
  };
}
