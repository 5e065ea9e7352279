import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeError } from '../../core/traffic/index.js';

/** Where the supervised HAProxy keeps its files, all in one folder. */
export interface RunPaths {
  readonly dir: string;
  readonly config: string;
  readonly adminSocket: string;
  readonly masterSocket: string;
  readonly pidFile: string;
  /** HAProxy's own messages (start, reload, alerts): what an error quotes. */
  readonly log: string;
}

export function runPaths(dir: string): RunPaths {
  return {
    dir,
    config: join(dir, 'haproxy.cfg'),
    adminSocket: join(dir, 'admin.sock'),
    masterSocket: join(dir, 'master.sock'),
    pidFile: join(dir, 'haproxy.pid'),
    log: join(dir, 'haproxy.log'),
  };
}

/**
 * Make the folder (0700) or check the one there. HAProxy runs as root from the file in it
 * and answers admin commands on its sockets, so whoever may write the folder could swap the
 * configuration or plant a socket: a symlink, another owner or group/other write is refused.
 */
export function ensureRunDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory())
    throw new EdgeError(
      'E_EDGE_UNSAFE',
      `${dir} is not a folder (a symlink?): the edge keeps its files in a folder of its own`,
    );
  if (uid !== undefined && st.uid !== uid)
    throw new EdgeError(
      'E_EDGE_UNSAFE',
      `${dir} belongs to uid ${st.uid}, not to this process (${uid})`,
    );
  if ((st.mode & 0o022) !== 0)
    throw new EdgeError(
      'E_EDGE_UNSAFE',
      `${dir} may be written by others (mode ${(st.mode & 0o777).toString(8)}): chmod go-w it`,
    );
}
