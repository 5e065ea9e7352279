import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file.js';

/** Where the CLI finds a running server: `$INGOT_HOME/server.json`. */
export interface ServerInfo {
  readonly pid: number;
  readonly port: number;
  readonly host: string;
  /** The API's 0600 Unix socket, which the CLI prefers (absent: TCP only). */
  readonly socket?: string;
}

export function writeServerInfo(home: string, info: ServerInfo): void {
  writeFileAtomic(join(home, 'server.json'), JSON.stringify(info) + '\n', { mode: 0o600 });
}

export function removeServerInfo(home: string): void {
  rmSync(join(home, 'server.json'), { force: true });
}
