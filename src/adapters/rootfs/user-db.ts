import { join } from 'node:path';
import { readSpecFile } from '../shared/spec-file.js';

/**
 * A rootfs's /etc/passwd and /etc/group, to resolve the image's `User`. Each must be a small
 * regular file of the verified rootfs (its folders were made by the materialiser): not
 * followed if it is a symlink, never a FIFO or a device, at most 1 MiB; anything else reads
 * as empty (no names to resolve from it).
 */
export function readUserDb(rootfs: string): { passwd: string; group: string } {
  return {
    passwd: readSmall(join(rootfs, 'etc', 'passwd')),
    group: readSmall(join(rootfs, 'etc', 'group')),
  };
}

function readSmall(path: string): string {
  try {
    return readSpecFile(
      path,
      path,
      1 << 20,
      { notFound: 'E_INSTANCE_USER', tooLarge: 'E_INSTANCE_USER' },
      { noFollow: true },
    ).toString('utf8');
  } catch {
    return '';
  }
}
