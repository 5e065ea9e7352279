import type { Command } from 'commander';
import { UsageError } from '../../../domain/errors.js';
import { collect } from '../../format.js';
import type { Runner } from '../runner.js';
import {
  LOG_LEVEL_HELP,
  METRICS_LISTEN_HELP,
  observabilityOptions,
  parseListen,
} from './observability-flags.js';
import { checkUpOptions, stopGraceMs, verifyIntervalMs } from './up-options.js';

export { parseListen } from './observability-flags.js';

interface ServerFlags {
  etcd: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdCredentials?: string;
  database: string;
  listen?: string;
  name?: string;
  policy?: string;
  key?: string[];
  insecureRegistry?: string[];
  registryCaFile?: string;
  metricsListen?: string;
  logLevel?: string;
}

interface AgentFlags {
  server?: string;
  joinToken: string;
  name?: string;
  listen?: string;
  labels?: string;
  policy?: string;
  key?: string[];
  bridge?: string;
  subnet?: string;
  route?: string[];
  cgroupParent?: string;
  stopGrace?: string;
  verifyInterval?: string;
  insecureRegistry?: string[];
  registryCaFile?: string;
}

/** `zone=a,disk=ssd` → labels. Pure. */
export function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === undefined || text === '') return labels;
  for (const pair of text.split(',')) {
    const m = /^([a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?)=([A-Za-z0-9._-]{0,63})$/.exec(pair);
    if (!m)
      throw new UsageError(
        `--labels takes k=v,… (lowercase keys), got ${JSON.stringify(pair.slice(0, 100))}`,
      );
    if (m[1]! in labels) throw new UsageError(`--labels names ${m[1]} twice`);
    labels[m[1]!] = m[3]!;
  }
  return labels;
}

function endpoints(list: string): string[] {
  const urls = list.split(',').filter((u) => u !== '');
  for (const u of urls)
    if (!/^https?:\/\/[^/]+$/.test(u))
      throw new UsageError(
        `--etcd takes URL[,URL…] of etcd members (http(s)://HOST:PORT), got ${JSON.stringify(u.slice(0, 100))}`,
      );
  if (urls.length === 0) throw new UsageError('--etcd names no member');
  return urls;
}

function registries(flags: { insecureRegistry?: string[]; registryCaFile?: string }) {
  return {
    insecure: flags.insecureRegistry ?? [],
    ...(flags.registryCaFile !== undefined && { caFile: flags.registryCaFile }),
  };
}

/** `ingot server` and `ingot agent`: the two processes of a cluster. */
export function registerCluster(program: Command, run: Runner): void {
  registerClusterServer(program, run);
  registerClusterAgent(program, run);
}

function registerClusterServer(program: Command, run: Runner): void {
  program
    .command('server')
    .summary('run one server of a cluster: API, and the controller while it leads')
    .description(
      'Serve the API on --listen with state in PostgreSQL (--database), and campaign in etcd to lead.\n' +
        "Run two or more: the leader runs the controller and writes every host's assignments, each\n" +
        'write fenced by its term; the others serve the API and stand by. Copy $INGOT_HOME/token (the\n' +
        'admin token), join-token and keys/ledger.key of the first server to the others.',
    )
    .requiredOption('--etcd <urls>', 'etcd members, URL[,URL…]')
    .option('--etcd-ca <file>', "CA of the members' certificates")
    .option('--etcd-cert <file>', 'client certificate for etcd')
    .option('--etcd-key <file>', 'client key for etcd')
    .option(
      '--etcd-credentials <file>',
      "etcd's root USER:PASSWORD (grants each host its own user)",
    )
    .requiredOption('--database <url>', 'postgres://… shared by every server')
    .option('--listen <host:port>', 'API address (default 127.0.0.1:0)')
    .option('--name <name>', "this server's name (default: the machine's)")
    .option('--policy <file>', 'admission policy')
    .option('--key <file>', 'trusted public key (repeatable)', collect)
    .option(
      '--insecure-registry <host[:port]>',
      'plain HTTP to this registry (repeatable)',
      collect,
    )
    .option('--registry-ca-file <file>', 'PEM of the CA(s) to trust for registries')
    .option('--metrics-listen <host:port>', METRICS_LISTEN_HELP)
    .option('--log-level <level>', LOG_LEVEL_HELP)
    .action(async (flags: ServerFlags) => {
      await run(
        async (app, io) => {
          const listen =
            flags.listen === undefined ? { host: '127.0.0.1', port: 0 } : parseListen(flags.listen);
          const observability = observabilityOptions(flags);
          const server = await app.serveCluster({
            etcd: {
              endpoints: endpoints(flags.etcd),
              ...(flags.etcdCa !== undefined && { caFile: flags.etcdCa }),
              ...(flags.etcdCert !== undefined && { certFile: flags.etcdCert }),
              ...(flags.etcdKey !== undefined && { keyFile: flags.etcdKey }),
              ...(flags.etcdCredentials !== undefined && {
                credentialsFile: flags.etcdCredentials,
              }),
            },
            database: flags.database,
            ...listen,
            ...(flags.name !== undefined && { name: flags.name }),
            ...(flags.policy !== undefined && { policyFile: flags.policy }),
            ...(flags.key !== undefined && { keyFiles: flags.key }),
            registries: registries(flags),
            ...observability,
          });
          const stop = () => void server.stop();
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
          io.err(`Ingot server ${server.name} is up at ${server.url}\n`);
          await server.stopped;
          return 0;
        },
        () => 'text',
      );
    });
}

function registerClusterAgent(program: Command, run: Runner): void {
  program
    .command('agent')
    .summary("run a cluster's host agent on this machine")
    .description(
      'Join the cluster through a server (the global --server URL[,URL…], or INGOT_SERVER: each is tried\n' +
        'in turn; --join-token: a\n' +
        "copy of a server's join-token, mode 0600),\n" +
        'register this host (lease TTL 10 s) and run exactly the instances assigned to it, as `ingot up`\n' +
        'runs them. Stopping the agent, or losing the control plane, leaves its instances running.',
    )
    .requiredOption('--join-token <file>', "the cluster's join token")
    .option('--name <name>', "this host's name (default: the machine's)")
    .option(
      '--listen <host:port>',
      "this agent's own API, which the servers call for `ingot logs`, `verify-instances` and `debug` on this host's instances (an address the servers reach; default: none, and those commands are refused for this host)",
    )
    .option('--labels <k=v,…>', 'placement labels, e.g. zone=a,disk=ssd')
    .option('--policy <file>', 'admission policy')
    .option('--key <file>', 'trusted public key (repeatable)', collect)
    .option('--bridge <name>', "instances' bridge (default ingot0)")
    .option('--subnet <cidr>', "instances' subnet (default 10.88.0.0/24)")
    .option(
      '--route <cidr>',
      "a network instances may reach beyond their own subnet, through this host's bridge: the other hosts' instances and the servers (repeatable; default none)",
      collect,
    )
    .option('--cgroup-parent <path>', 'cgroup the instances are placed under (default /ingot)')
    .option(
      '--stop-grace <duration>',
      'SIGTERM grace before SIGKILL when stopping (default 10s, at most 10m)',
    )
    .option(
      '--verify-interval <duration>',
      'hash every rootfs in use in full this often (default 10m; a bare number is minutes)',
    )
    .option(
      '--insecure-registry <host[:port]>',
      'plain HTTP to this registry (repeatable)',
      collect,
    )
    .option('--registry-ca-file <file>', 'PEM of the CA(s) to trust for registries')
    .action(async (_local: AgentFlags, command: Command) => {
      // --server is the CLI's global option (the API to reach): here, the server to join.
      const flags: AgentFlags = command.optsWithGlobals();
      await run(
        async (app, io) => {
          checkUpOptions(flags);
          const server = flags.server ?? process.env['INGOT_SERVER'];
          if (server === undefined)
            throw new UsageError(
              'ingot agent needs --server URL (or INGOT_SERVER): a server of the cluster',
            );
          const servers = server.split(',').map((s) => s.trim());
          for (const s of servers)
            if (!/^https?:\/\/[^/]+\/?$/.test(s))
              throw new UsageError(
                `--server takes http(s)://HOST:PORT[,…], got ${JSON.stringify(s.slice(0, 100))}`,
              );
          const listen = flags.listen === undefined ? undefined : parseListen(flags.listen);
          if (listen && (listen.host === '0.0.0.0' || listen.host === '::'))
            throw new UsageError(
              '--listen needs the address the servers reach this host at, not a wildcard: it is what the host registers',
            );
          const agent = await app.runClusterAgent({
            servers,
            ...(listen !== undefined && { listen }),
            joinTokenFile: flags.joinToken,
            labels: parseLabels(flags.labels),
            ...(flags.name !== undefined && { name: flags.name }),
            ...(flags.policy !== undefined && { policyFile: flags.policy }),
            ...(flags.key !== undefined && { keyFiles: flags.key }),
            ...(flags.bridge !== undefined && { bridge: flags.bridge }),
            ...(flags.subnet !== undefined && { subnet: flags.subnet }),
            ...(flags.route !== undefined && { routes: flags.route }),
            ...(flags.cgroupParent !== undefined && { cgroupParent: flags.cgroupParent }),
            ...(flags.stopGrace !== undefined && { stopGraceMs: stopGraceMs(flags.stopGrace) }),
            ...(flags.verifyInterval !== undefined && {
              fullVerifyMs: verifyIntervalMs(flags.verifyInterval),
            }),
            registries: registries(flags),
          });
          const stop = () => void agent.stop();
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
          io.err(`Ingot agent ${agent.name} follows ${servers.join(', ')}\n`);
          await agent.stopped;
          return 0;
        },
        () => 'text',
      );
    });
}
