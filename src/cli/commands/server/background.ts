import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { routes } from '../../../core/api/routes.js';
import { call, serverInfo } from '../../client.js';
import type { Io } from '../../io.js';
import { homeApi } from '../../target.js';
import { SERVER_FLAGS } from './server-flags.js';
import { upArgs, type UpOptions } from './up-options.js';

/**
 * `ingot up --detach`: the same command without --detach, as a detached child writing to
 * $INGOT_HOME/server.out; returns once that child answers (exit 0) or gives up (exit 1).
 */
export async function startInBackground(home: string, options: UpOptions, io: Io): Promise<number> {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const out = openSync(join(home, 'server.out'), 'a', 0o600);
  const args = [process.argv[1]!, '--home', home, 'up', ...upArgs(options)];
  const child = spawn(process.execPath, [...SERVER_FLAGS, ...args], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  for (let i = 0; i < 300; i++) {
    await new Promise((r) => setTimeout(r, 100));
    // server.json can be an earlier server's: only the child's own pid says it is up.
    const now = serverInfo(home);
    if (now && now.pid === child.pid) {
      await call(homeApi(home), routes.health);
      io.err(`Ingot is up (pid ${now.pid}) at http://${now.host}:${now.port}\n`);
      return 0;
    }
    if (child.exitCode !== null) break;
  }
  io.err(`Ingot did not start: see ${join(home, 'server.out')}\n`);
  return 1;
}
