import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ID_RANGE_SIZE, type IdMap } from '../../core/runtime/id-map.js';
import { reownedId } from '../../core/runtime/id-ranges.js';
import type { HostVolumes } from '../../ports/instance-files.js';
import { reownVolume } from './reown-volume.js';

const SEARCH_ONLY = 0o711;

/**
 * Volumes in `$INGOT_HOME/volumes`: a fleet's own under `<fleet>/<name>`, shared ones under
 * `_shared/<source>` ("_shared" cannot be a fleet name). Names are checked before they get
 * here: nothing in them can climb out of the folder.
 */
export class HomeVolumes implements HostVolumes {
  constructor(private readonly home: string) {}

  async ensure(
    source: Parameters<HostVolumes['ensure']>[0],
    owner: { readonly uid: number; readonly gid: number },
    idMap: IdMap | null = null,
  ): Promise<string> {
    const dir =
      source.kind === 'fleet'
        ? join(this.home, 'volumes', source.fleet, source.name)
        : join(this.home, 'volumes', '_shared', source.source);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chownSync(dir, owner.uid, owner.gid);
    } else if (needsReowning(lstatSync(dir).uid, source.kind, idMap)) await reownVolume(dir, idMap);
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

/**
 * Whether a volume whose folder `uid` owns must move into `idMap` first: a fleet's own
 * volume follows its fleet's ids (made before user namespaces, or when the fleet's range was
 * handed out again after its record was lost), else root inside could not write to it. A
 * shared one moves only out of the host's own ids (made before user namespaces): fleets of
 * other ranges share it, and moving it to each in turn would take it from the others.
 */
function needsReowning(uid: number, kind: 'fleet' | 'shared', idMap: IdMap | null): boolean {
  if (kind === 'fleet') return reownedId(uid, idMap) !== uid;
  return idMap !== null && uid < ID_RANGE_SIZE;
}
