import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { testbed } from '../../src/adapters/netns-testbed/index.js';
import { contextsBefore, useClusterContext } from './contexts.js';
import { teardown } from './down.js';
import { startEtcd, startPostgres, startRegistry } from './engines.js';
import { cleanEnv, ensureBuilt, mustIngot } from './ingot.js';
import { startAgent, startServer, waitHostsLive } from './members.js';
import { CONTEXT_NAME, type ClusterState, type StateFolder } from './state.js';

export interface UpOptions {
  readonly hosts: number;
  readonly prefix: string;
  readonly linkSubnet: string;
  readonly instanceSubnets: string;
}

/** What a local cluster uses by default: a bed of its own beside `ingot up`'s 10.88.0.0/24. */
export const UP_DEFAULTS: UpOptions = {
  hosts: 3,
  prefix: 'ingotlc',
  linkSubnet: '10.87.0.0/24',
  instanceSubnets: '10.89.0.0/16',
};

/**
 * Start the whole cluster, each piece recorded in the state folder as soon as it runs; if a
 * step fails, everything started is taken down again (the logs stay) and the error thrown.
 */
export async function up(
  folder: StateFolder,
  options: UpOptions,
  say: (line: string) => void,
): Promise<{ readonly state: ClusterState; readonly contextFile: string }> {
  const bedOptions = {
    hosts: options.hosts,
    prefix: options.prefix,
    linkSubnet: options.linkSubnet,
    instanceSubnets: options.instanceSubnets,
  };
  // Checked before anything is made: E_TESTBED_INPUT names every bad option.
  const bed = testbed(bedOptions);
  preflight(options);
  ensureBuilt(say);
  folder.claim();
  const state: ClusterState = {
    version: 1,
    bed: bedOptions,
    contextsBefore: contextsBefore(),
    etcd: null,
    postgres: null,
    registry: null,
    keys: null,
    servers: [],
    agents: [],
  };
  folder.save(state);
  try {
    say(
      `test bed ${bed.prefix}: ${options.hosts} hosts on ${bed.linkSubnet}, servers on ${bed.gateway}`,
    );
    await bed.create();
    say('etcd (3 members, auth on), PostgreSQL 15 and a registry');
    // All settled before going on (or tearing down): none is still starting then.
    const keys = folder.path('keys');
    settled(
      await Promise.allSettled([
        timed('etcd', startEtcd(folder, state, bed.gateway), say),
        timed('PostgreSQL', startPostgres(folder, state), say),
        timed('the registry', startRegistry(folder, state, bed.gateway), say),
        mustIngot(
          ['key', 'generate', '--out', keys, '--name', 'local-cluster'],
          cleanEnv({ INGOT_HOME: folder.path('cli') }),
        ),
      ]),
    );
    state.keys = {
      private: join(keys, 'local-cluster.key'),
      public: join(keys, 'local-cluster.pub'),
    };
    folder.save(state);
    say('server s1');
    await startServer(folder, state, 's1', bed.gateway);
    // The hosts join through s1: they start while s2 does.
    say(`server s2, and agents ${bed.hosts.map((h) => `h${h.n}`).join(', ')}`);
    for (const host of bed.hosts) startAgent(folder, state, bed, host.n);
    settled(
      await Promise.allSettled([
        startServer(folder, state, 's2', bed.gateway),
        waitHostsLive(state, options.hosts),
      ]),
    );
    const s1 = state.servers[0]!;
    say(`context ${CONTEXT_NAME} (current)`);
    // Both servers (they share the token): the CLI goes on through s2 while s1 is down.
    const contextFile = useClusterContext(
      state.servers.map((s) => s.url).join(','),
      join(s1.home, 'token'),
    );
    return { state, contextFile };
  } catch (err) {
    say(`up failed: taking down what was started (the logs stay in ${folder.path('logs')})`);
    const report = await teardown(state, say);
    folder.forget();
    if (report.errors.length > 0) say(`and could not remove: ${report.errors.join('; ')}`);
    throw err;
  }
}

/** Say when `step` is done. */
async function timed<T>(what: string, step: Promise<T>, say: (line: string) => void): Promise<T> {
  const value = await step;
  say(`${what} serves`);
  return value;
}

/** The first failure of steps run side by side, once all of them ended. */
function settled(results: readonly PromiseSettledResult<unknown>[]): void {
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** What `up` needs of the machine, all named at once, before anything is started. */
function preflight(options: UpOptions): void {
  const missing: string[] = [];
  if (process.getuid?.() !== 0)
    missing.push('root (network namespaces, mounts, cgroups and runc need it)');
  for (const tool of ['ip', 'nsenter', 'runc', 'docker-registry', 'etcd', 'etcdctl', 'setpriv'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) missing.push(tool);
  if (missing.length > 0)
    throw new Error(`the local cluster needs ${missing.join(', ')}: run ./scripts/setup as root`);
  const taken = existsSync('/run/netns')
    ? readdirSync('/run/netns').filter((n) => n.startsWith(`${options.prefix}-h`))
    : [];
  if (taken.length > 0)
    throw new Error(
      `network namespaces of a bed ${options.prefix} exist (${taken.join(', ')}): another local cluster is up. Take it down (scripts/local-cluster down, with its INGOT_LOCAL_CLUSTER_DIR), or choose --prefix`,
    );
}

/** What `up` prints when the cluster runs: what was started, where, and how to try it. */
export function summary(folder: StateFolder, state: ClusterState, contextFile: string): string {
  const p = (proc: { pid: number }) => `pid ${proc.pid}`;
  const registry = state.registry!.authority;
  const lines = [
    `Local cluster up (state and logs in ${folder.dir}):`,
    `  etcd       ${state.etcd!.endpoints.join(' ')} (auth on; root in ${state.etcd!.credentialsFile})`,
    `  postgres   ${state.postgres!.database} (${p(state.postgres!)})`,
    `  registry   ${registry} (plain HTTP, ${p(state.registry!)})`,
    ...state.servers.map((s) => `  server     ${s.name} ${s.url} (${p(s)})`),
    ...state.agents.map(
      (a) => `  host       ${a.name} ${a.labels} (agent ${p(a)}, home ${a.home})`,
    ),
    `  context    ${CONTEXT_NAME} is current (${contextFile}); the previous one: ${state.contextsBefore.previous ?? 'none'}`,
    '',
    'Try it:',
    '  npx ingot hosts',
    `  npx ingot build --key ${state.keys!.private} examples/hello`,
    `  npx ingot push hello:1.0.0 ${registry}/hello:1.0.0 --plain-http`,
    `  printf 'name: hello\\nartifact: ${registry}/hello:1.0.0\\nreplicas: 3\\nplacement: { spread: zone }\\n' > /tmp/hello.yaml`,
    '  npx ingot deploy /tmp/hello.yaml --wait && npx ingot status',
    "  scripts/local-cluster kill-host 1     # SIGKILL h1's agent: lost within the 10 s lease, replaced",
    "  scripts/local-cluster cut-host 2      # pull h2's cable; heal-host 2 plugs it back",
    '  scripts/local-cluster status | down',
  ];
  return lines.join('\n') + '\n';
}
