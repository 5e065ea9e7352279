import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HostVolumes } from '../../ports/instance-files.js';

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
  ): string {
    const dir =
      source.kind === 'fleet'
        ? join(this.home, 'volumes', source.fleet, source.name)
        : join(this.home, 'volumes', '_shared', source.source);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chownSync(dir, owner.uid, owner.gid);
    }
    return dir;
  }
}
