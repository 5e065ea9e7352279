import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file.js';
import { processStart } from '../shared/process-alive.js';

/** Where the CLI finds a running server: `$INGOT_HOME/server.json`. */
export interface ServerInfo {
  readonly pid: number;
  readonly port: number;
  readonly host: string;
  /** The API's 0600 Unix socket, which the CLI prefers (absent: TCP only). */
  readonly socket?: string;
  /** A cluster's server: its name. */
  readonly name?: string;
}

/**
 * With the server's start (boot and start time): a server killed without cleaning up leaves
 * this file behind, and its pid may be another process's by the time anyone reads it.
 */
export function writeServerInfo(home: string, info: ServerInfo): void {
  const started = processStart(info.pid);
  writeFileAtomic(
    join(home, 'server.json'),
    JSON.stringify({ ...info, ...(started !== null && { started }) }) + '\n',
    { mode: 0o600 },
  );
}

export function removeServerInfo(home: string): void {
  rmSync(join(home, 'server.json'), { force: true });
}
