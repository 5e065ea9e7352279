import type { ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Testbed } from '../../src/adapters/netns-testbed/index.js';
import { cleanEnv, INGOT_JS } from './ingot.js';
import { adopt, launch, running, tail, waitFor } from './processes.js';
import type { ClusterState, StateFolder } from './state.js';

/**
 * Ingot's own processes of the local cluster: two `ingot server`s on the bed's gateway, and an
 * `ingot agent` in each host of the bed. All run the built CLI, with the flags an operator
 * would give them on real machines.
 */

export const SERVERS = ['s1', 's2'] as const;
const ZONES = ['a', 'b', 'c'];

/** What every server of a cluster shares with the first: tokens, the ledger's key, the signing key. */
const SHARED = ['token', 'join-token', 'keys/ledger.key', 'keys/local.key', 'keys/local.pub'];

/**
 * Start server `name` and wait until it listens. Every server but s1 gets s1's secrets first
 * (s1 makes them when it starts): start s1 before the others.
 */
export async function startServer(
  folder: StateFolder,
  state: ClusterState,
  name: (typeof SERVERS)[number],
  gateway: string,
): Promise<void> {
  const { etcd, postgres, registry, keys } = state;
  if (!etcd?.credentialsFile || !postgres?.database || !registry || !keys)
    throw new Error('the servers need etcd, PostgreSQL, the registry and the keys first');
  const home = folder.path(name);
  mkdirSync(join(home, 'keys'), { recursive: true, mode: 0o700 });
  if (name !== 's1')
    for (const f of SHARED)
      if (existsSync(folder.path('s1', f))) copyFileSync(folder.path('s1', f), join(home, f));
  const args = [
    'server',
    '--etcd',
    etcd.endpoints.join(','),
    '--etcd-credentials',
    etcd.credentialsFile,
    '--database',
    postgres.database,
    '--listen',
    `${gateway}:0`,
    '--name',
    name,
    '--key',
    keys.public,
    '--insecure-registry',
    registry.authority,
  ];
  const log = folder.path('logs', `${name}.log`);
  const password = readFileSync(folder.path('postgres-password'), 'utf8').trim();
  const started = launch([process.execPath, INGOT_JS, ...args], {
    cwd: home,
    env: cleanEnv({ INGOT_HOME: home, PGPASSWORD: password }),
    log,
  });
  const server = { name, home, url: '', ...started };
  state.servers.push(server);
  folder.save(state);
  const info = await waitFor(
    `server ${name} to listen`,
    () => {
      if (!running(server)) throw new Error(`server ${name} exited:\n${tail(log)}`);
      const file = join(home, 'server.json');
      return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { port: number });
    },
    60_000,
  );
  server.url = `http://${gateway}:${info.port}`;
  folder.save(state);
}

/** The labels of host `n`: zone a, b, c, a, … */
export function labelsOf(n: number): string {
  return `zone=${ZONES[(n - 1) % ZONES.length]}`;
}

/** The cgroup host `n`'s instances are placed under (removed by `down`). */
export function cgroupOf(prefix: string, n: number): string {
  return `/${prefix}-h${n}`;
}

/**
 * Start host `n`'s agent in its namespaces (replacing the record of a previous one): it joins
 * through s1 with the join token, routes its instances to the other hosts' and the servers.
 */
export function startAgent(
  folder: StateFolder,
  state: ClusterState,
  bed: Testbed,
  n: number,
): void {
  const s1 = state.servers[0];
  if (!s1?.url || !state.keys || !state.registry) throw new Error('the agents need s1 first');
  const host = bed.host(n);
  const name = `h${n}`;
  const home = folder.path('hosts', name);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const labels = labelsOf(n);
  const args = [
    'agent',
    // Every server started so far: the agent joins and sends its events through any of them.
    '--server',
    state.servers.flatMap((s) => (s.url ? [s.url] : [])).join(','),
    // Its own API, which the servers call for `ingot logs`, `verify-instances` and `debug`.
    '--listen',
    `${host.address}:7071`,
    '--join-token',
    join(s1.home, 'join-token'),
    '--name',
    name,
    '--labels',
    labels,
    '--key',
    state.keys.public,
    '--insecure-registry',
    state.registry.authority,
    '--bridge',
    host.bridge,
    '--subnet',
    host.instanceSubnet,
    '--route',
    bed.instanceSubnets,
    '--route',
    bed.linkSubnet,
    '--cgroup-parent',
    cgroupOf(bed.prefix, n),
    // Shorter than the default 10 s: a replacement and `down` wait less for an instance that
    // ignores SIGTERM (busybox httpd as PID 1 does).
    '--stop-grace',
    '3',
  ];
  const log = folder.path('logs', `${name}.log`);
  const fd = openSync(log, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = bed.spawn(n, [process.execPath, INGOT_JS, ...args], {
      env: cleanEnv({ INGOT_HOME: home }),
      cwd: home,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const agent = { n, name, home, labels, ...adopt(child, log) };
  state.agents = [...state.agents.filter((a) => a.n !== n), agent];
  state.agents.sort((a, b) => a.n - b.n);
  folder.save(state);
}

/** Until the servers list `count` hosts as live and one of them leads (GET /v1/hosts on s1). */
export async function waitHostsLive(state: ClusterState, count: number): Promise<void> {
  const s1 = state.servers[0];
  if (!s1) throw new Error('no server');
  const token = readFileSync(join(s1.home, 'token'), 'utf8').trim();
  await waitFor(
    `${count} hosts to join and a server to lead (see ${state.agents.map((a) => a.log).join(', ')})`,
    async () => {
      for (const a of state.agents)
        if (!running(a)) throw new Error(`the agent of ${a.name} exited:\n${tail(a.log)}`);
      const res = await fetch(`${s1.url}/v1/hosts`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5_000),
      }).catch(() => null);
      if (!res?.ok) return false;
      const answer = (await res.json()) as { hosts?: { state?: unknown }[]; leader?: unknown };
      const live = (answer.hosts ?? []).filter((h) => h.state === 'live').length;
      return (answer.leader ?? null) !== null && live === count;
    },
    90_000,
  );
}
