import { spawn } from 'node:child_process';
import { ID_RANGE_SIZE, type IdMap } from '../../core/runtime/id-map.js';
import { POOL_START } from '../../core/runtime/id-ranges.js';
import { IngotError } from '../../domain/errors.js';

/**
 * Walks a volume and gives every entry the owner `reownedId` (core/runtime/id-ranges.ts)
 * says, the same rule written in Python. The threat: the volume's content was written by an
 * instance, possibly a hostile one that may still run, and may swap a folder for a symlink
 * to /etc while the walk is under way. Node has no fchownat: Python's os.fwalk holds every
 * folder open and never follows a link, and chown goes through that folder's descriptor
 * with AT_SYMLINK_NOFOLLOW, so nothing outside the volume can be reached. Modes are never
 * touched (chown drops set-id bits, and volumes are mounted noexec anyway).
 */
const WALKER = `
import os, sys
top, base, pool, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def shift(i):
    inside = (i - pool) % size if i >= pool else i
    return base + inside if inside < size else i
changed = 0
def fix(st, chown):
    global changed
    u, g = shift(st.st_uid), shift(st.st_gid)
    if (u, g) != (st.st_uid, st.st_gid):
        chown(u, g)
        changed += 1
for _, dirs, files, fd in os.fwalk(top, follow_symlinks=False):
    for name in dirs + files:
        fix(os.stat(name, dir_fd=fd, follow_symlinks=False),
            lambda u, g: os.chown(name, u, g, dir_fd=fd, follow_symlinks=False))
topfd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
fix(os.fstat(topfd), lambda u, g: os.fchown(topfd, u, g))
print(changed)
`;

/**
 * Move a volume into `map` (null: the host's own ids): from before user namespaces, or from
 * a range its fleet held before. Resolves to how many entries changed owner. The top folder
 * is done last, so a walk cut short is done again next time (its owner still says so).
 */
export function reownVolume(dir: string, map: IdMap | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'python3',
      [
        '-I',
        '-S',
        '-c',
        WALKER,
        dir,
        String(map?.hostId ?? 0),
        String(POOL_START),
        String(ID_RANGE_SIZE),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    const fail = (why: string) =>
      reject(
        new IngotError(
          'E_VOLUME_OWNER',
          `volume ${dir} could not be given to its instances' ids: ${why}`,
        ),
      );
    child.on('error', (e) => fail(`python3: ${e.message} (./scripts/setup installs it)`));
    child.on('close', (code) => {
      const changed = Number(out.trim());
      if (code === 0 && Number.isInteger(changed)) resolve(changed);
      else fail(err.trim().split('\n').pop() ?? `exit ${code}`);
    });
  });
}
