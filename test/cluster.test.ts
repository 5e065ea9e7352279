import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservedInstance } from '../src/domain/instance.js';
import { removeNet, requireHost, runcIn, testNet, type TestNet } from './helpers/agent.js';
import { ingot } from './helpers/cli.js';
import {
  agentArgs,
  secretFile,
  serverUrl,
  shareServerSecrets,
  startIngot,
  waitFor,
  type IngotProcess,
} from './helpers/cluster.js';
import { startEtcdCluster, type EtcdCluster } from './helpers/etcd.js';
import { passableTempDir } from './helpers/fs.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { HELLO } from './helpers/server.js';

/**
 * A cluster on real parts: three etcd members (auth on), PostgreSQL, a registry, two servers
 * and two host agents (each with its own home, bridge and subnet). A fleet is placed across the
 * hosts; a host whose agent dies is lost and its instances are replaced elsewhere under new
 * names; when it comes back it stops its old instances before it takes new work.
 */

let root: string;
let etcd: EtcdCluster;
let pg: TestPostgres;
let registry: TestRegistry;
const servers: IngotProcess[] = [];
const agents = new Map<string, IngotProcess>();
const nets = new Map<string, TestNet>();
let url: string;
let serverArgs: string[];
let agentKey: string;
let joinToken: string;

interface FleetView {
  name: string;
  instances: ObservedInstance[];
  reasons?: string[];
}

let database: string;

function cli(...args: string[]) {
  return ingot(args, { env: { INGOT_HOME: servers[0]!.home, INGOT_DATABASE: database } });
}

function fleet(name: string): FleetView | undefined {
  const r = cli('status', '-o', 'json');
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as FleetView[]).find((f) => f.name === name);
}

function healthyOn(name: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const i of fleet(name)?.instances ?? [])
    if (i.state === 'healthy' && i.host !== undefined) found.set(i.id, i.host);
  return found;
}

function startAgent(name: string): IngotProcess {
  let net = nets.get(name);
  if (!net) nets.set(name, (net = testNet()));
  const agent = startIngot(
    join(root, `host-${name}`),
    agentArgs(url, joinToken, name, net, [
      '--key',
      agentKey,
      '--insecure-registry',
      registry.authority,
    ]),
  );
  agents.set(name, agent);
  return agent;
}

beforeAll(async () => {
  requireHost();
  root = passableTempDir('ingot-cluster-');
  [etcd, pg, registry] = await Promise.all([
    startEtcdCluster({ auth: true }),
    startPostgres({ fast: true }),
    startRegistry(),
  ]);
  database = await pg.createDatabase('ingot');
  const creds = secretFile(join(root, 'etcd-root'), `root:${etcd.rootPassword}\n`);
  serverArgs = [
    'server',
    '--etcd',
    etcd.endpoints.join(','),
    '--etcd-credentials',
    creds,
    '--database',
    database,
    '--insecure-registry',
    registry.authority,
  ];
  // The builder signs with a key of its own; servers and hosts trust its public half.
  const builder = { INGOT_HOME: join(root, 'builder') };
  const keys = join(root, 'keys');
  expect(ingot(['key', 'generate', '--out', keys, '--name', 'ci']).code).toBe(0);
  agentKey = join(keys, 'ci.pub');
  const built = ingot(['build', '-q', '--key', join(keys, 'ci.key'), HELLO], { env: builder });
  expect(built.code, built.stderr).toBe(0);
  const pushed = ingot(
    ['push', built.stdout.trim(), `${registry.authority}/team/hello:1`, '--plain-http'],
    { env: builder },
  );
  expect(pushed.code, pushed.stderr).toBe(0);
  servers.push(startIngot(join(root, 's1'), [...serverArgs, '--name', 's1', '--key', agentKey]));
  url = await serverUrl(servers[0]!);
  shareServerSecrets(servers[0]!.home, join(root, 's2'));
  servers.push(startIngot(join(root, 's2'), [...serverArgs, '--name', 's2', '--key', agentKey]));
  await serverUrl(servers[1]!);
  joinToken = join(servers[0]!.home, 'join-token');
  for (const h of ['h1', 'h2']) startAgent(h);
  for (const [name, agent] of agents)
    await waitFor(
      `${name} registered`,
      () => {
        if (!agent.running()) throw new Error(`agent ${name} exited:\n${agent.output()}`);
        return agent.output().includes('"msg":"registered"');
      },
      60_000,
      agent.output,
    );
  // Admitted by the leader on its next pass.
  await new Promise((r) => setTimeout(r, 1500));
}, 240_000);

afterAll(async () => {
  for (const a of agents.values()) await a.stop();
  // Agents leave their instances running when they stop: stop them from each host's record.
  for (const a of agents.values())
    ingot(['down', '--stop-instances'], { env: { INGOT_HOME: a.home } });
  for (const net of nets.values()) removeNet(net);
  for (const s of servers) await s.stop();
  await Promise.all([etcd?.stop(), pg?.stop(), registry?.stop()]);
}, 120_000);

describe('a fleet across hosts', () => {
  it('places instances on both hosts, pulled by digest from the registry', async () => {
    const file = join(root, 'web.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      file,
      [
        'name: web',
        `artifact: ${registry.authority}/team/hello:1`,
        'replicas: 2',
        'minReadySeconds: 0',
        '',
      ].join('\n'),
    );
    const r = cli('deploy', file);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const on = await waitFor(
      '2 healthy instances',
      () => healthyOn('web').size === 2 && healthyOn('web'),
      120_000,
      () => JSON.stringify(fleet('web'), null, 1) + agents.get('h1')!.output().slice(-3000),
    );
    expect(new Set(on.values())).toEqual(new Set(['h1', 'h2']));
    // The CLI reaches the cluster by URL and token file, from anywhere.
    const hosts = ingot(
      ['--server', url, '--token-file', join(servers[0]!.home, 'token'), 'hosts', '-o', 'json'],
      { env: { INGOT_HOME: join(root, 'elsewhere') } },
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
  }, 180_000);

  it('replaces the instances of a host whose agent died, under new names, within the lease', async () => {
    const before = healthyOn('web');
    const [lostId] = [...before].find(([, h]) => h === 'h1')!;
    const killedAt = Date.now();
    await agents.get('h1')!.kill();
    const after = await waitFor(
      'a replacement on h2',
      () => {
        const now = healthyOn('web');
        return [...now.values()].filter((h) => h === 'h2').length === 2 && now;
      },
      60_000,
      () => JSON.stringify(fleet('web'), null, 1),
    );
    const took = Date.now() - killedAt;
    expect(after.has(lostId)).toBe(false);
    // The lease is 10 s; then one reconcile, a start and the health check.
    expect(took).toBeLessThan(40_000);
    // The ledger says which host was lost, and which instance was replaced for it.
    const ledger = JSON.parse(cli('ledger', 'log', '--limit', '99999', '-o', 'json').stdout) as {
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
    const h1 = agents.get('h1')!.home;
    const runningOnH1 = () => {
      const listed = runcIn(h1, 'list', '--format', 'json');
      return ((JSON.parse(listed.out || 'null') as { status: string }[] | null) ?? []).filter(
        (c) => c.status === 'running',
      ).length;
    };
    // Static stability: the agent's death stopped nothing.
    expect(runningOnH1()).toBeGreaterThan(0);
    const agent = startAgent('h1');
    await waitFor(
      'h1 to stop what it ran before it was lost',
      () => runningOnH1() === 0,
      60_000,
      () => JSON.stringify(fleet('web'), null, 1) + agent.output().slice(-3000),
    );
    const names = (fleet('web')?.instances ?? [])
      .filter((i) => i.state === 'healthy')
      .map((i) => i.id);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(2);
  }, 90_000);
});
