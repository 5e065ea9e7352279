import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../scripts/engines/ports.js';
import { waitFor } from './helpers/cluster.js';
import { ingotAsync } from './helpers/cli.js';
import { getOnce, startLoad } from './helpers/http-load.js';
import { HELLO, useServer } from './helpers/server.js';

/**
 * Issue 19: a fleet's stable endpoint through the edge (HAProxy, started by `ingot up`), and a
 * release replaced behind it under continuous load without a failed request.
 */
describe('traffic through the edge', () => {
  const server = useServer('edge');

  it('serves a fleet at its listen, and a rolling update under load fails no request', async () => {
    server.up();
    expect(server.cli('build', '-q', HELLO).code).toBe(0);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/cgi-bin/greeting`;
    const fleet = (greeting: string) =>
      server.writeFleet('hello', [
        'artifact: hello:1.0.0',
        'replicas: 3',
        'env:',
        `  GREETING: ${greeting}`,
        'strategy:',
        '  rolling: { maxSurge: 1, maxUnavailable: 0 }',
        'minReadySeconds: 1',
        // Killed at once when told to stop (httpd, PID 1, ignores SIGTERM): only the drain
        // before the stop keeps its requests in flight from failing.
        'stopGrace: 0s',
        `service: { port: 8080, listen: '127.0.0.1:${port}' }`,
      ]);
    const r = server.cli('deploy', '--wait', fleet('hello'));
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the edge answering', async () => (await getOnce(url)) === 'hello\n', 30_000);

    // Slow requests (0.3 s): some are always in flight on an instance when it is to stop.
    const load = startLoad({ url: `${url}?slow`, concurrency: 8, keepAlive: true, maxMs: 240_000 });
    // Not spawnSync: the load runs in this process, and must go on during the rollout.
    const rolled = await ingotAsync(['deploy', '--wait', fleet('bonjour')], {
      env: server.env,
      timeoutMs: 180_000,
    });
    expect(rolled.code, rolled.stderr).toBe(0);
    // The last old instance drains, then stops: a few more seconds under load.
    await waitFor(
      'only the new release running',
      () =>
        server
          .fleet('hello')
          ?.instances.every((i) => !i.release || i.release === server.fleet('hello')?.release),
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    load.stop();
    const seen = await load.done;
    console.log(
      'LOAD',
      seen.ok,
      seen.failed,
      JSON.stringify([...seen.byBody]),
      JSON.stringify([...seen.failures]),
    );
    expect(seen.failed, JSON.stringify([...seen.failures])).toBe(0);
    expect(seen.byBody.get('hello\n') ?? 0).toBeGreaterThan(0);
    expect(seen.byBody.get('bonjour\n') ?? 0).toBeGreaterThan(0);
    expect(await getOnce(url)).toBe('bonjour\n');

    // ingot down stops the edge with the server: nothing listens there any more.
    const pidFile = join(server.home, 'edge', 'haproxy.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : null;
    expect(server.cli('down', '--stop-instances').code).toBe(0);
    expect(await getOnce(url)).toBeNull();
    if (pid !== null) expect(() => process.kill(pid, 0)).toThrow();
  }, 400_000);
});
