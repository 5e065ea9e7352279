import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../scripts/engines/ports.js';
import { rootfsOf } from './helpers/agent.js';
import { ingotAsync } from './helpers/cli.js';
import { waitFor } from './helpers/cluster.js';
import { getOnce, startLoad } from './helpers/http-load.js';
import { HELLO, useServer } from './helpers/server.js';

interface FleetJson {
  instances: { id: string; artifact: string; state: string; integrity?: string }[];
}

/**
 * Issue 19: drift ends in replacement, and the replacement costs clients nothing: tampered
 * instances keep serving until fresh ones are ready, then drain before they stop.
 */
describe('a drift replacement through the edge', () => {
  const server = useServer('edgedrift');

  it('replaces tampered instances under load without a failed request', async () => {
    server.up();
    expect(server.cli('build', '-q', HELLO).code).toBe(0);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/cgi-bin/greeting`;
    const file = server.writeFleet('hello', [
      'artifact: hello:1.0.0',
      'replicas: 2',
      'minReadySeconds: 1',
      'stopGrace: 0s',
      `service: { port: 8080, listen: '127.0.0.1:${port}' }`,
    ]);
    const r = server.cli('deploy', '--wait', file);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the edge answering', async () => (await getOnce(url)) === 'hello\n', 30_000);
    const status = async () =>
      (
        JSON.parse(
          (await ingotAsync(['status', '-o', 'json'], { env: server.env })).stdout,
        ) as FleetJson[]
      )[0]!;
    const victims = (await status()).instances;
    expect(victims.every((i) => i.integrity === 'verified')).toBe(true);

    const live = startLoad({ url: `${url}?slow`, concurrency: 8, keepAlive: true, maxMs: 300_000 });
    // Root on the host defaces the page the instances serve: drift, found by the monitor.
    appendFileSync(
      join(rootfsOf(server.home, victims[0]!.artifact), 'srv/www/index.html'),
      'defaced\n',
    );
    await waitFor(
      'every tampered instance replaced by a verified one',
      async () => {
        const now = (await status()).instances;
        return (
          now.length === 2 &&
          now.every((i) => !victims.some((v) => v.id === i.id)) &&
          now.every((i) => i.state === 'healthy' && i.integrity === 'verified')
        );
      },
      180_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    live.stop();
    const seen = await live.done;
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.failed, JSON.stringify([...seen.failures])).toBe(0);
  }, 600_000);
});
