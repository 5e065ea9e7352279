import type { MeasuredEntry } from '../../domain/measurement.js';
import type { Finding } from './evidence.js';

/** A file's identity on its filesystem: what a running program or mapping is, whatever its name. */
export interface FileId {
  readonly dev: number;
  readonly ino: number;
}

/**
 * Whether the file a process runs code from (its program, or an executable mapping) is the
 * measured file at its path. A path is only a name: a program deleted after it started, or
 * a file bind-mounted or renamed over the measured one, runs other code under the measured
 * name, so the running file's identity must be the one on disk. `onDisk` reads that (lstat
 * in the rootfs) and is asked only for a measured file. Pure, given `onDisk`.
 */
export function executableFinding(
  path: string,
  running: { readonly deleted: boolean; readonly file: FileId | null },
  measured: MeasuredEntry | undefined,
  onDisk: () => FileId | null,
): Finding | null {
  if (running.deleted) return { path, expected: 'a measured file', actual: 'a deleted file' };
  if (!measured || measured.type !== 'file')
    return { path, expected: 'a measured file', actual: 'not in the artifact' };
  const disk = onDisk();
  const file = running.file;
  if (file && (!disk || disk.dev !== file.dev || disk.ino !== file.ino))
    return {
      path,
      expected: 'the measured file',
      actual: `another file (device ${file.dev}, inode ${file.ino})`,
    };
  return null;
}

/**
 * Whether what runs at the init's path (runtime: init: true) is the host's init the agent
 * mounted and recorded: the very file (device and inode), not merely one of that name. Its
 * mount is checked apart (read-only, mounted once); a process that runs anything else there,
 * or a deleted file, is drift. Pure.
 */
export function initFinding(
  path: string,
  running: { readonly deleted: boolean; readonly file: FileId | null },
  recorded: FileId,
): Finding | null {
  if (running.deleted) return { path, expected: 'the recorded init', actual: 'a deleted file' };
  const file = running.file;
  if (!file || file.dev !== recorded.dev || file.ino !== recorded.ino)
    return {
      path,
      expected: `the recorded init (device ${recorded.dev}, inode ${recorded.ino})`,
      actual: file ? `another file (device ${file.dev}, inode ${file.ino})` : 'an unreadable file',
    };
  return null;
}
