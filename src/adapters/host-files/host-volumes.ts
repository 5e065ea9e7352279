import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { IdMap } from '../../core/runtime/id-map.js';
import type { HostVolumes } from '../../ports/instance-files.js';

const SEARCH_ONLY = 0o711;

/**
 * Volumes in `$INGOT_HOME/volumes`: a fleet's own under `<fleet>/<name>`, shared ones under
 * `_shared/<source>` ("_shared" cannot be a fleet name). Names are checked before they get
 * here: nothing in them can climb out of the folder.
 */
export class HomeVolumes implements HostVolumes {
  constructor(private readonly home: string) {}

  ensure(
    source: Parameters<HostVolumes['ensure']>[0],
    owner: { readonly uid: number; readonly gid: number },
    idMap: IdMap | null = null,
  ): string {
    const dir =
      source.kind === 'fleet'
        ? join(this.home, 'volumes', source.fleet, source.name)
        : join(this.home, 'volumes', '_shared', source.source);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chownSync(dir, owner.uid, owner.gid);
    }
    if (idMap !== null) {
      // runc mounts it from inside the instance's user namespace (see rootfs/id-gate.ts):
      // the folders above are search-only for others; a fleet's own folder is the gate,
      // passable by its range's root group alone. Shared volumes sit behind no gate.
      chmodSync(this.home, SEARCH_ONLY);
      chmodSync(join(this.home, 'volumes'), SEARCH_ONLY);
      if (source.kind === 'fleet') {
        chownSync(dirname(dir), process.getuid?.() ?? 0, idMap.hostId);
        chmodSync(dirname(dir), 0o710);
      } else chmodSync(dirname(dir), SEARCH_ONLY);
    }
    return dir;
  }
}
