import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingot } from './helpers/cli.js';
import { waitFor } from './helpers/cluster.js';
import { startTestCluster, type TestCluster } from './helpers/test-cluster.js';

/**
 * A cluster on real parts: three etcd members (auth on), PostgreSQL, a registry, two servers
 * and two host agents (each with its own home, bridge and subnet). A fleet is placed across the
 * hosts; a host whose agent dies is lost and its instances are replaced elsewhere under new
 * names; when it comes back it stops its old instances before it takes new work.
 */

let c: TestCluster;

beforeAll(async () => {
  c = await startTestCluster({ hosts: ['h1', 'h2'], servers: 2 });
}, 240_000);

afterAll(async () => {
  await c?.stop();
}, 120_000);

describe('a fleet across hosts', () => {
  it('places instances on both hosts, pulled by digest from the registry', async () => {
    const file = c.writeFleet('web', [`artifact: ${c.image}`, 'replicas: 2', 'minReadySeconds: 0']);
    const r = c.cli(['deploy', file]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const on = await waitFor(
      '2 healthy instances',
      () => c.healthyOn('web').size === 2 && c.healthyOn('web'),
      120_000,
      () => JSON.stringify(c.fleet('web'), null, 1),
    );
    expect(new Set(on.values())).toEqual(new Set(['h1', 'h2']));
    // The CLI reaches the cluster by URL and token file, from anywhere.
    const hosts = ingot(
      ['--server', c.url, '--token-file', join(c.servers[0]!.home, 'token'), 'hosts', '-o', 'json'],
      { env: { INGOT_HOME: join(c.root, 'elsewhere') } },
    );
    expect(hosts.code, hosts.stderr).toBe(0);
    const listed = JSON.parse(hosts.stdout) as {
      hosts: { name: string; state: string; used: { instances: number } }[];
      leader: { name: string } | null;
    };
    expect(listed.hosts.map((h) => [h.name, h.state, h.used.instances])).toEqual([
      ['h1', 'live', 1],
      ['h2', 'live', 1],
    ]);
    expect(['s1', 's2']).toContain(listed.leader?.name);
    // Several servers named at once: one that refuses the connection is passed over.
    const second = ingot(
      [
        '--server',
        `http://127.0.0.1:1,${c.url}`,
        '--token-file',
        join(c.servers[0]!.home, 'token'),
        'hosts',
        '-o',
        'json',
      ],
      { env: { INGOT_HOME: join(c.root, 'elsewhere') } },
    );
    expect(second.code, second.stderr).toBe(0);

    // A release whose instances could not be assigned (etcd bounds each assignment) is refused
    // at deploy, not accepted and then failed by every pass of the leader.
    const big = c.writeFleet('big', [
      `artifact: ${c.image}`,
      'replicas: 1',
      'env:',
      `  ONE: ${'x'.repeat(40 * 1024)}`,
    ]);
    const refused = c.cli(['deploy', big]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('E_FLEET_INVALID');
    expect(refused.stderr).toContain('too large to assign to a host');
    expect(c.fleet('big')).toBeUndefined();
  }, 180_000);

  it("logs, verify-instances and debug reach the instance's host through the servers", async () => {
    const on = c.healthyOn('web');
    const [id, host] = [...on].find(([, h]) => h === 'h2')!;
    // Logs: the server asks h2's agent (its own API, signed calls). httpd -vv logs the probes.
    const logs = await waitFor(
      'the health probes in the log',
      () => {
        const r = c.cli(['logs', id]);
        return r.code === 0 && r.stdout.includes('healthz') && r;
      },
      30_000,
      () => c.cli(['logs', id]).stderr,
    );
    expect(logs.stdout).toContain('healthz');
    const missing = c.cli(['logs', 'web-nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('E_INSTANCE_NOT_FOUND');

    // Verification now, on every host: each rootfs named with its host, none drifted.
    const verified = c.cli(['verify-instances', '-o', 'json']);
    expect(verified.code, verified.stderr).toBe(0);
    const report = JSON.parse(verified.stdout) as {
      host?: string;
      instances: string[];
      drift: unknown[];
    }[];
    expect(new Set(report.map((r) => r.host))).toEqual(new Set(['h1', 'h2']));
    expect(report.flatMap((r) => r.instances).sort()).toEqual([...on.keys()].sort());
    expect(report.every((r) => r.drift.length === 0)).toBe(true);

    // Break-glass from anywhere: recorded by the servers, run by h2's agent (runc exec there),
    // the session relayed through a server; then the instance is replaced.
    const session = c.cli([
      'debug',
      id,
      '--reason',
      'look at the page',
      '--',
      '/bin/busybox',
      'cat',
      '/srv/www/index.html',
    ]);
    expect(session.code, session.stderr).toBe(0);
    expect(session.stdout).toContain('<');
    const history = c.cli(['history', 'web']).stdout;
    expect(history).toMatch(new RegExp(`break-glass-open +${id} by \\S+.*: look at the page`));
    expect(history).toMatch(new RegExp(`break-glass-close +${id}`));
    await waitFor(
      'the opened instance replaced',
      () => {
        const now = c.healthyOn('web');
        return now.size === 2 && !now.has(id) && now;
      },
      90_000,
      () => JSON.stringify(c.fleet('web'), null, 1),
    );
    // Its host signed nothing it did not get from a server: a call without one is refused.
    const api = (
      JSON.parse(c.cli(['hosts', '-o', 'json']).stdout) as {
        hosts: { name: string; api?: string }[];
      }
    ).hosts.find((h) => h.name === host)?.api;
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const unsigned = await fetch(`${api}/v1/host/instances/${id}/logs`);
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).toContain('E_CLUSTER_CALL');
  }, 240_000);

  it('replaces the instances of a host whose agent died, under new names, within the lease', async () => {
    const before = c.healthyOn('web');
    const [lostId] = [...before].find(([, h]) => h === 'h1')!;
    const killedAt = Date.now();
    await c.agents.get('h1')!.kill();
    const after = await waitFor(
      'a replacement on h2',
      () => {
        const now = c.healthyOn('web');
        return [...now.values()].filter((h) => h === 'h2').length === 2 && now;
      },
      60_000,
      () => JSON.stringify(c.fleet('web'), null, 1),
    );
    const took = Date.now() - killedAt;
    expect(after.has(lostId)).toBe(false);
    // The lease is 10 s; then one reconcile, a start and the health check.
    expect(took).toBeLessThan(40_000);
    // The ledger says which host was lost, and which instance was replaced for it.
    const ledger = JSON.parse(
      c.cli(['ledger', 'log', '--limit', '99999', '-o', 'json']).stdout,
    ) as {
      kind: string;
      instance?: string;
      actor: string;
      detail: Record<string, unknown>;
    }[];
    expect(
      ledger.some(
        (e) => e.kind === 'host' && e.detail['host'] === 'h1' && e.detail['state'] === 'lost',
      ),
    ).toBe(true);
    expect(ledger.some((e) => e.kind === 'instance-replaced' && e.instance === lostId)).toBe(true);
    // The hosts' own events reached the ledger through the servers, under their names.
    expect(ledger.some((e) => e.kind === 'instance-started' && e.actor === 'agent@h2')).toBe(true);
  }, 90_000);

  it('a host that comes back stops its old instances before it gets new work', async () => {
    // Static stability: the agent's death stopped nothing.
    expect(c.runningOn('h1')).toBeGreaterThan(0);
    await c.startAgent('h1');
    await waitFor(
      'h1 to stop what it ran before it was lost',
      () => c.runningOn('h1') === 0,
      60_000,
      () => JSON.stringify(c.fleet('web'), null, 1),
    );
    const names = (c.fleet('web')?.instances ?? [])
      .filter((i) => i.state === 'healthy')
      .map((i) => i.id);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(2);
  }, 90_000);
});
