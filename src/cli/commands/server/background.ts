import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { routes } from '../../../core/api/routes.js';
import { call, serverInfo } from '../../client.js';
import { json } from '../../format.js';
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
  const from = fstatSync(out).size;
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
      const url = `http://${now.host}:${now.port}`;
      io.err(`Ingot is up (pid ${now.pid}) at ${url}\n`);
      if (options.output === 'json')
        io.out(json({ running: true, started: true, pid: now.pid, url, home }));
      return 0;
    }
    if (child.exitCode !== null) break;
  }
  const said = childSaid(join(home, 'server.out'), from);
  io.err(`${said}Ingot did not start: see ${join(home, 'server.out')}\n`);
  return 1;
}

/** What the child said in server.out (its error, such as a taken address), from its last 2 KiB. */
function childSaid(path: string, from: number): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(from, size - 2048);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      // Its own words only: the log's JSON lines are in server.log.
      const lines = buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith('{'));
      return lines.map((l) => `${l}\n`).join('');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}
