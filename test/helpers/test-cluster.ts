import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ObservedInstance } from '../../src/domain/instance.js';
import { removeNet, requireHost, testNet, type TestNet } from './agent.js';
import { ingot, type CliResult } from './cli.js';
import {
  agentArgs,
  secretFile,
  serverUrl,
  shareServerSecrets,
  startIngot,
  waitFor,
  type IngotProcess,
} from './cluster.js';
import { startEtcdCluster, type EtcdCluster } from './etcd.js';
import { passableTempDir } from './fs.js';
import { startPostgres } from './postgres.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { HELLO } from './server.js';
import type { Testbed } from '../../src/adapters/netns-testbed/index.js';

export interface FleetView {
  name: string;
  release: string;
  phase?: string;
  instances: ObservedInstance[];
  reasons?: string[];
}

/**
 * A whole cluster on real parts, for one test file: three etcd members (auth on), PostgreSQL,
 * a registry holding examples/hello (signed by a key servers and hosts trust), servers and
 * host agents as child processes of the built CLI, each host on a bridge and subnet of its own.
 */
export interface TestCluster {
  readonly root: string;
  readonly etcd: EtcdCluster;
  readonly registry: TestRegistry;
  readonly database: string;
  /** The hello image in the registry, by tag. */
  readonly image: string;
  readonly servers: IngotProcess[];
  readonly agents: Map<string, IngotProcess>;
  /** The first server's API. */
  readonly url: string;
  /** Server `i`'s API (0-based), where it listens (and listens again once restarted). */
  apiOf(i: number): string;
  /** The CLI against the cluster (the given server's home, the cluster's ledger). */
  cli(args: readonly string[], server?: number): CliResult;
  fleet(name: string, server?: number): FleetView | undefined;
  /** Healthy instances of a fleet: id → host. */
  healthyOn(name: string): Map<string, string>;
  /** Start (or start again, at the same address) server `i` (0-based); resolves once it listens. */
  startServer(i: number): Promise<IngotProcess>;
  /** Start (or start again) a host's agent; resolves once it registered. */
  startAgent(name: string): Promise<IngotProcess>;
  /** Instances running in a host's runtime (runc), whatever the control plane says. */
  runningOn(name: string): number;
  /** The ids of those instances (runc's container ids are the instance ids). */
  runningIdsOn(name: string): string[];
  writeFleet(name: string, lines: readonly string[]): string;
  /** Who leads, as etcd says (through `ingot hosts`). */
  leader(server?: number): string | null;
  /** The leader's record: its name, and since when it leads (ms). */
  leaderRecord(server?: number): { name: string; since: number } | null;
  stop(): Promise<void>;
}

export async function startTestCluster(options: {
  readonly hosts: readonly string[];
  readonly servers: number;
  /**
   * Run host i (0-based, in `hosts` order) in simulated host i + 1 of this bed (created by
   * the caller), servers on its gateway: a host's link can then be cut.
   */
  readonly bed?: Testbed;
}): Promise<TestCluster> {
  const { bed } = options;
  requireHost();
  const root = passableTempDir('ingot-cluster-');
  const [etcd, pg, registry] = await Promise.all([
    startEtcdCluster({ auth: true, ...(bed && { clientHost: bed.gateway }) }),
    startPostgres({ fast: true }),
    startRegistry(bed ? { host: bed.gateway } : {}),
  ]);
  const servers: IngotProcess[] = [];
  const agents = new Map<string, IngotProcess>();
  const nets = new Map<string, TestNet>();
  const database = await pg.createDatabase('ingot');
  const creds = secretFile(join(root, 'etcd-root'), `root:${etcd.rootPassword}\n`);
  const keys = join(root, 'keys');
  const key = join(keys, 'ci.pub');
  /**
   * Where each server listens (host:port), kept from its first start: a restarted server comes
   * back at the same address, as one on a real machine does, so agents (whose --server it is)
   * reach it again.
   */
  const listening: (string | undefined)[] = [];
  const serverArgs = (i: number) => [
    'server',
    '--etcd',
    etcd.endpoints.join(','),
    '--etcd-credentials',
    creds,
    '--database',
    database,
    '--insecure-registry',
    registry.authority,
    '--name',
    `s${i + 1}`,
    '--key',
    key,
    '--listen',
    listening[i] ?? `${bed?.gateway ?? '127.0.0.1'}:0`,
  ];
  const builder = { INGOT_HOME: join(root, 'builder') };
  expect(ingot(['key', 'generate', '--out', keys, '--name', 'ci']).code).toBe(0);
  const built = ingot(['build', '-q', '--key', join(keys, 'ci.key'), HELLO], { env: builder });
  expect(built.code, built.stderr).toBe(0);
  const image = `${registry.authority}/team/hello:1`;
  const pushed = ingot(['push', built.stdout.trim(), image, '--plain-http'], { env: builder });
  expect(pushed.code, pushed.stderr).toBe(0);
  const home = (i: number) => join(root, `s${i + 1}`);
  let url = '';
  const cli = (args: readonly string[], server = 0) =>
    ingot(args, { env: { INGOT_HOME: home(server), INGOT_DATABASE: database } });
  const fleet = (name: string, server = 0) => {
    const r = cli(['status', '-o', 'json'], server);
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as FleetView[]).find((f) => f.name === name);
  };
  const cluster: TestCluster = {
    root,
    etcd,
    registry,
    database,
    image,
    servers,
    agents,
    get url() {
      return url;
    },
    cli,
    fleet,
    apiOf(i) {
      const at = listening[i];
      if (at === undefined) throw new Error(`server ${i} never listened`);
      return `http://${at}`;
    },
    healthyOn(name) {
      const found = new Map<string, string>();
      for (const i of fleet(name)?.instances ?? [])
        if (i.state === 'healthy' && i.host !== undefined) found.set(i.id, i.host);
      return found;
    },
    async startServer(i) {
      if (i > 0) shareServerSecrets(home(0), home(i));
      // A server killed before left its address behind: wait for the new one's.
      rmSync(join(home(i), 'server.json'), { force: true });
      const server = startIngot(home(i), serverArgs(i));
      servers[i] = server;
      const at = await serverUrl(server);
      listening[i] = new URL(at).host;
      if (i === 0) url = at;
      return server;
    },
    async startAgent(name) {
      const n = options.hosts.indexOf(name) + 1;
      const simulated = bed?.host(n);
      let net = nets.get(name);
      if (!net)
        nets.set(
          name,
          (net = simulated
            ? { bridge: simulated.bridge, subnet: simulated.instanceSubnet }
            : testNet()),
        );
      const routes = bed ? ['--route', bed.instanceSubnets, '--route', bed.linkSubnet] : [];
      const agent = startIngot(
        join(root, `host-${name}`),
        agentArgs(url, join(home(0), 'join-token'), name, net, [
          '--key',
          key,
          '--insecure-registry',
          registry.authority,
          ...routes,
          // Its own API, for the servers' calls (logs, verify-instances, debug).
          '--listen',
          `${simulated ? simulated.address : '127.0.0.1'}:0`,
        ]),
        {},
        bed && ((argv, env) => bed.spawn(n, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] })),
      );
      agents.set(name, agent);
      await waitFor(
        `${name} registered`,
        () => {
          if (!agent.running())
            throw new Error(
              `agent ${name} exited (${agent.child.exitCode ?? agent.child.signalCode}):\n${agent.output()}`,
            );
          return agent.output().includes('"msg":"registered"');
        },
        60_000,
        () => agent.output().slice(-4000),
      );
      return agent;
    },
    runningOn(name) {
      return cluster.runningIdsOn(name).length;
    },
    runningIdsOn(name) {
      return runningIds(join(root, `host-${name}`, 'runc'), name);
    },
    writeFleet(name, lines) {
      const file = join(root, `${name}-${Date.now()}.yaml`);
      writeFileSync(file, [`name: ${name}`, ...lines, ''].join('\n'));
      return file;
    },
    leader(server = 0) {
      return cluster.leaderRecord(server)?.name ?? null;
    },
    leaderRecord(server = 0) {
      const r = cli(['hosts', '-o', 'json'], server);
      if (r.code !== 0) return null;
      const leader = (JSON.parse(r.stdout) as { leader: { name: string; since: string } | null })
        .leader;
      return leader && { name: leader.name, since: Date.parse(leader.since) };
    },
    async stop() {
      for (const a of agents.values()) await a.stop();
      // Agents leave their instances running when they stop: stop them from each host's record.
      for (const name of agents.keys())
        ingot(['down', '--stop-instances'], { env: { INGOT_HOME: join(root, `host-${name}`) } });
      for (const net of nets.values()) removeNet(net);
      for (const s of servers) await s?.stop();
      await Promise.all([etcd.stop(), pg.stop(), registry.stop()]);
      // The homes, store and keys (~14 MB a cluster), unless something is still mounted there:
      // removing would reach through the mount.
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
      if (mounts.some((l) => l.split(' ')[4]?.startsWith(`${root}/`)))
        console.warn(`${root} kept: something is still mounted in it`);
      else rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < options.servers; i++) await cluster.startServer(i);
    for (const h of options.hosts) await cluster.startAgent(h);
    // Admitted by the leader on its next pass.
    await new Promise((r) => setTimeout(r, 1500));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/**
 * The running containers under one runc root. `runc list` stats each state folder it read,
 * so a container removed meanwhile by the agent fails the whole listing with ENOENT (seen in
 * CI): list again, as the runc adapter does.
 */
function runningIds(runcRoot: string, host: string): string[] {
  for (let attempt = 0; ; attempt++) {
    // stdout only: runc may add a warning on stderr (seen while a container was being removed).
    const listed = spawnSync('runc', ['--root', runcRoot, 'list', '--format', 'json'], {
      encoding: 'utf8',
    });
    if (listed.status === 0)
      return (
        (JSON.parse(listed.stdout || 'null') as { id: string; status: string }[] | null) ?? []
      )
        .filter((c) => c.status === 'running')
        .map((c) => c.id);
    if (attempt >= 5 || !/no such file or directory/.test(listed.stderr))
      throw new Error(`runc list on ${host}: ${listed.stderr}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 * (attempt + 1));
  }
}
