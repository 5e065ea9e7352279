import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/engines/ports.js';
import { RuntimeClient, runPaths } from '../src/adapters/haproxy/index.js';
import { testbed, type Testbed } from '../src/adapters/netns-testbed/index.js';
import { ingotAsync } from './helpers/cli.js';
import { waitFor } from './helpers/cluster.js';
import { getOnce, load, startLoad } from './helpers/http-load.js';
import { startTestCluster, type TestCluster } from './helpers/test-cluster.js';
import { requireTool } from './helpers/tools.js';

/**
 * Issue 19 in a cluster: the leader's edge routes a fleet's listen to its instances on every
 * host (hosts are network namespaces; the servers reach instances through the hosts' routes),
 * a rolling update under load fails no request, and when the leader dies its edge dies with
 * it and the next leader's serves the same listen.
 */

let bed: Testbed;
let c: TestCluster;
let port = 0;
const url = () => `http://127.0.0.1:${port}/cgi-bin/greeting`;

beforeAll(async () => {
  requireTool('haproxy');
  bed = testbed({
    hosts: 2,
    prefix: `ice${process.pid % 1000}`,
    linkSubnet: '10.84.0.0/24',
    instanceSubnets: '10.83.0.0/16',
  });
  await bed.create();
  c = await startTestCluster({ hosts: ['h1', 'h2'], servers: 2, bed });
  port = await freePort();
}, 300_000);

afterAll(async () => {
  await c?.stop();
  await bed?.destroy();
}, 120_000);

const fleet = (greeting: string) =>
  c.writeFleet('web', [
    `artifact: ${c.image}`,
    'replicas: 2',
    'env:',
    `  GREETING: ${greeting}`,
    'strategy:',
    '  rolling: { maxSurge: 1, maxUnavailable: 0 }',
    'minReadySeconds: 1',
    // httpd (PID 1) ignores SIGTERM: only the drain before the stop saves its requests.
    'stopGrace: 0s',
    `service: { port: 8080, listen: '127.0.0.1:${port}' }`,
  ]);

/** The leading server's index (0-based), as etcd names it. */
function leaderIndex(): number {
  const name = c.leader(0) ?? c.leader(1);
  if (name === null) throw new Error('no leader');
  return Number(name.slice(1)) - 1;
}

/** HAProxy processes started on a server's edge folder (zombies aside). */
function edgeProcesses(serverHome: string): number[] {
  const folder = join(serverHome, 'edge');
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
        const state = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]?.[0];
        return cmd.includes(folder) && state !== 'Z';
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('traffic in a cluster', () => {
  it('routes one listen to instances on both hosts, and a rolling update under load fails no request', async () => {
    const first = c.cli(['deploy', fleet('hello')]);
    expect(first.code, first.stderr).toBe(0);
    await waitFor(
      '2 healthy, one per host',
      () => new Set(c.healthyOn('web').values()).size === 2,
      120_000,
      () => JSON.stringify(c.fleet('web'), null, 1),
    );
    await waitFor('the edge answering', async () => (await getOnce(url())) === 'hello\n', 30_000);

    // Both hosts answer through the one listen: HAProxy's counters, per instance.
    const leader = c.servers[leaderIndex()]!;
    const stats = new RuntimeClient(runPaths(join(leader.home, 'edge')).adminSocket);
    const answered = async () =>
      new Map(
        (await stats.stats())
          .filter((s) => s.backend === 'be_web')
          .map((s) => [s.server, Object.values(s.responses).reduce((a, b) => a + b, 0)]),
      );
    const before = await answered();
    const burst = await load({ url: url(), concurrency: 4, total: 400, keepAlive: true });
    expect(burst.failed).toBe(0);
    const after = await answered();
    const byHost = new Map<string, number>();
    for (const [id, host] of c.healthyOn('web'))
      byHost.set(host, (after.get(id) ?? 0) - (before.get(id) ?? 0));
    expect([...byHost.keys()].sort()).toEqual(['h1', 'h2']);
    for (const [host, n] of byHost) expect(n, `requests answered on ${host}`).toBeGreaterThan(100);

    // The workers that parse clients' requests are not root.
    const worker = await stats.workerPid();
    expect(readFileSync(`/proc/${worker}/status`, 'utf8')).toMatch(/^Uid:\s+65534\s+65534/m);

    // A rolling update to another greeting under load: every request answered.
    const traffic = startLoad({
      url: `${url()}?slow`,
      concurrency: 6,
      keepAlive: true,
      maxMs: 240_000,
    });
    const rolled = await ingotAsync(['deploy', '--wait', fleet('bonjour')], {
      env: { INGOT_HOME: c.servers[0]!.home, INGOT_DATABASE: c.database },
      timeoutMs: 180_000,
    });
    expect(rolled.code, rolled.stderr).toBe(0);
    const release = c.fleet('web')?.release;
    await waitFor(
      'only the new release running',
      () => c.fleet('web')?.instances.every((i) => !i.release || i.release === release),
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    traffic.stop();
    const seen = await traffic.done;
    console.log('cluster edge LOAD', seen.ok, seen.failed, JSON.stringify([...seen.byBody]));
    expect(seen.failed, JSON.stringify([...seen.failures])).toBe(0);
    expect(seen.byBody.get('hello\n') ?? 0).toBeGreaterThan(0);
    expect(seen.byBody.get('bonjour\n') ?? 0).toBeGreaterThan(0);
    expect(await getOnce(url())).toBe('bonjour\n');
  }, 400_000);

  it('dies with a killed leader, and the next leader serves the same listen', async () => {
    const was = leaderIndex();
    const old = c.servers[was]!;
    expect(edgeProcesses(old.home).length).toBeGreaterThan(0);
    const t0 = performance.now();
    await old.kill();
    await waitFor(
      'the dead leader’s HAProxy gone with it',
      () => edgeProcesses(old.home).length === 0,
      5_000,
    );
    await waitFor(
      'the next leader’s edge answering',
      async () => (await getOnce(url(), 500)) === 'bonjour\n',
      30_000,
    );
    const ms = performance.now() - t0;
    console.log(
      `cluster edge: leader killed → the next leader's edge serving after ${ms.toFixed(0)} ms`,
    );
    const next = leaderIndex();
    expect(next).not.toBe(was);
    expect(edgeProcesses(c.servers[next]!.home).length).toBeGreaterThan(0);
    const after = await load({ url: url(), concurrency: 4, total: 200, keepAlive: true });
    expect(after.failed).toBe(0);
    // Back at its address, the old leader stands by: one edge serves, the leader's.
    await c.startServer(was);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(edgeProcesses(c.servers[was]!.home)).toEqual([]);
  }, 120_000);
});
