import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { destination, multistream, pino, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { claimHome } from '../adapters/home/claim.js';
import { repairHome } from '../adapters/home/private-home.js';
import { writeServerInfo } from '../adapters/home/server-info.js';
import { ensureToken } from '../adapters/home/token.js';
import { buildApi } from '../adapters/http/api.js';
import { dashboardOptions } from './dashboard.js';
import { clusterRoutes, type ClusterHandlers } from '../adapters/http/cluster-routes.js';
import { callHost, openHostSession } from '../adapters/host-calls/client.js';
import { localKeys } from '../adapters/keys/local-keys.js';
import { ServerMetrics } from '../adapters/metrics/prometheus.js';
import { eventLogger } from '../services/server/event-log.js';
import { LedgerTap } from '../services/server/ledger-tap.js';
import type { FleetStore } from '../ports/fleet-store.js';
import { OciLayoutStore } from '../adapters/oci-layout/store.js';
import { assignmentProblem, checkNodeName } from '../core/cluster/index.js';
import type { ApiHandlers } from '../core/api/routes.js';
import type { ControlCoordination, CoordinationAdmin } from '../ports/coordination.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import { IngotError } from '../domain/errors.js';
import { fleetApi } from '../services/api/fleets.js';
import { instanceApi } from '../services/api/instances.js';
import { ledgerApi } from '../services/api/ledger.js';
import { serverApi } from '../services/api/server.js';
import { standbyView } from '../services/cluster/cluster-agents.js';
import { clusterHostsApi } from '../services/cluster/hosts-api.js';
import { hostCredential, joinHost, recordHostEvents } from '../services/cluster/join.js';
import { leaderAdmission } from '../services/cluster/leader-admission.js';
import { remoteInstanceHosts, type CallableHost } from '../services/cluster/remote-hosts.js';
import type { InstanceHosts } from '../ports/instance-hosts.js';
import type { ObservedInstance } from '../domain/instance.js';
import { campaignForever, Term } from '../services/cluster/term.js';
import { cachedAdmission } from '../services/server/admission-cache.js';
import { makeTrust } from './agent.js';
import { openState, type State } from './open-state.js';
import { etcdOptions, type EtcdAccess } from './etcd-access.js';
import { registryPuller, type RegistryAccess } from './registry-app.js';
import { LocalEdge, localListens } from './edge.js';
import { openServerLedger, type ServerLedger } from './server-ledger.js';
import { buildInfo } from './build-info.js';
import { metricsIfAsked, type LogLevel } from './metrics-app.js';
import type { MetricsListener } from '../adapters/metrics/metrics-listener.js';

export interface ClusterServerOptions {
  /** This server's own folder: its tokens, ledger key copy, log, store. */
  readonly home: string;
  /** Its name among the servers (a DNS label; default: the machine's). */
  readonly name?: string;
  readonly etcd: EtcdAccess;
  /** `postgres://…`: the state every server shares. */
  readonly database: string;
  readonly host?: string;
  readonly port?: number;
  readonly policyFile?: string;
  readonly keyFiles?: readonly string[];
  readonly intervalMs?: number;
  /** The leader's lease: how long a dead leader holds the cluster (default 3 s). */
  readonly leaderTtlSeconds?: number;
  readonly registries?: Omit<RegistryAccess, 'env'>;
  readonly logToStdout?: boolean;
  /** server.log's level (default info: events; debug adds a line per request). */
  readonly logLevel?: LogLevel;
  /** Where GET /metrics is served with the metrics token (default: nowhere). */
  readonly metricsListen?: { readonly host: string; readonly port: number };
}

export interface RunningClusterServer {
  readonly url: string;
  readonly name: string;
  readonly stopped: Promise<void>;
  /** Whether this server leads now. */
  leading(): boolean;
  stop(): Promise<void>;
}

/** The join token hosts present to join (0600, made on the first start; copy it to every server). */
export function ensureJoinToken(home: string): string {
  const path = join(home, 'join-token');
  if (!existsSync(path))
    writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

/**
 * Composition root of `ingot server`: one of several servers of a cluster. Every server serves
 * the API on the shared state (PostgreSQL); the one that wins etcd's election also runs the
 * controller, whose agent is every host (ClusterAgents), and writes their assignments, each
 * write fenced by its term's epoch. Losing the term stops the controller at once; the server
 * campaigns again and stands by meanwhile.
 */
export async function runClusterServer(
  options: ClusterServerOptions,
): Promise<RunningClusterServer> {
  const { home } = options;
  process.umask(0o077);
  repairHome(home);
  const releaseLock = claimHome(home);
  const name = checkNodeName(
    options.name ??
      hostname()
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 63),
    'server',
  );
  const file = destination({ dest: join(home, 'server.log'), mode: 0o600 });
  const level = options.logLevel ?? 'info';
  const logger: Logger = pino(
    { level, base: { pid: process.pid, server: name } },
    // Each stream of a multistream has its own level (info unless told).
    options.logToStdout
      ? multistream([
          { stream: file, level },
          { stream: process.stdout, level },
        ])
      : file,
  );
  let state: State | null = null;
  try {
    state = await openState(options.database);
    // Every event this server records is also a line of its log, and a counter.
    const tap = new LedgerTap((err) => logger.error({ err }, 'a ledger event was not observed'));
    tap.add(eventLogger(logger));
    const ledger = await openServerLedger(home, state, logger, tap);
    const token = ensureToken(home).token;
    const joinToken = ensureJoinToken(home);
    const local =
      options.policyFile === undefined && (options.keyFiles ?? []).length === 0
        ? localKeys(home)
        : null;
    const keyFiles = local ? [local.pub] : (options.keyFiles ?? []);
    const store = await OciLayoutStore.open(join(home, 'store'));
    return await serve(options, {
      name,
      state,
      fleets: tap.fleets(state.fleets),
      tap,
      ledger,
      token,
      joinToken,
      keyFiles,
      store,
      logger,
      releaseLock,
    });
  } catch (err) {
    await state?.close().catch(() => undefined);
    releaseLock();
    throw err;
  }
}

interface Opened {
  readonly name: string;
  readonly state: State;
  /** The state's fleets, whose notes the tap sees once written. */
  readonly fleets: FleetStore;
  readonly tap: LedgerTap;
  readonly ledger: ServerLedger;
  readonly token: string;
  readonly joinToken: string;
  readonly keyFiles: readonly string[];
  readonly store: OciLayoutStore;
  readonly logger: Logger;
  readonly releaseLock: () => void;
}

/** The dashboard on this server: the state's records, its ledger, its store, its trust. */
function clusterDashboard(home: string, o: Opened, trust: ReturnType<typeof makeTrust>) {
  return dashboardOptions(
    home,
    {
      release: (digest) => o.fleets.release(digest),
      entries: (query) => o.state.entries(query),
    },
    { ledger: o.ledger.ledger, store: o.store, trust, fleets: o.fleets },
  );
}

async function serve(options: ClusterServerOptions, o: Opened): Promise<RunningClusterServer> {
  const { logger, fleets, ledger, state } = o;
  const { openControlCoordination, openCoordinationAdmin } =
    await import('../adapters/etcd/index.js');
  const coordination = etcdOptions(options.etcd);
  const control = openControlCoordination(coordination);
  const admin = openCoordinationAdmin(coordination);
  const actor = `server@${o.name}`;
  const record = (event: LedgerEntryDraft) => ledger.recorder.record(event);
  const now = () => Date.now();
  const policy = {
    ...(options.policyFile !== undefined && { policyFile: options.policyFile }),
    keyFiles: o.keyFiles,
  };
  const trust = makeTrust(policy);
  const admitted = leaderAdmitted(options, o, trust, now);
  const metrics = serverMetrics(o);
  // The leader's edge (bin/edge.ts): it ends with this process, however it ends, since a
  // dead leader's HAProxy would go on routing to the instances it knew beside the next one's.
  const edge = new LocalEdge(join(options.home, 'edge'), logger, { exitWithParent: true });
  const term = new Term({
    edge,
    control,
    fleets,
    record,
    now,
    actor,
    admitted,
    log: logger,
    intervalMs: options.intervalMs ?? 500,
    reconcileTimer: () => metrics.reconcileTimer(),
  });
  const abort = new AbortController();
  // Started once the API listens (below): the leader record names the API it serves.
  let campaigning: Promise<void> = Promise.resolve();
  const hosts = clusterInstanceHosts(o, control, term);
  const handlers = apiHandlers(options, o, {
    control,
    term,
    trust,
    record,
    now,
    stop: () => stop(),
    hosts,
  });
  const api: FastifyInstance = buildApi(
    o.token,
    handlers,
    () => metrics.render(),
    logger,
    { maxConnections: 512, unprovenMs: 10_000 },
    clusterRoutes(hostHandlers(o, options, admin, record, actor)),
    (id, request) => hosts.debugSession(id, request),
    buildInfo.version,
    clusterDashboard(options.home, o, trust),
  );
  const housekeeping = setInterval(() => {
    ledger.recorder
      .maybeCheckpoint(Date.now())
      .catch((err: unknown) => logger.error({ err }, 'ledger checkpoint failed'));
  }, 1000);
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | null = null;
  let metricsListener: MetricsListener | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(housekeeping);
      abort.abort();
      await term.end();
      await campaigning.catch(() => undefined);
      await api.close();
      await metricsListener?.close();
      await control.close().catch(() => undefined);
      await admin.close().catch(() => undefined);
      await ledger.recorder
        .close()
        .then(() => ledger.recorder.maybeCheckpoint(Date.now(), true))
        .catch((err: unknown) => logger.error({ err }, 'ledger not flushed at stop'));
      await state.close();
      o.releaseLock();
      logger.info('stopped');
      resolveStopped();
    })());
  const host = options.host ?? '127.0.0.1';
  try {
    await api.listen({ host, port: options.port ?? 0 });
  } catch (err) {
    await stop();
    throw new IngotError(
      'E_SERVER_START',
      `cannot listen on ${host}:${options.port ?? 0}: ${err instanceof Error ? err.message : 'unknown error'}`,
    );
  }
  const address = api.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  metricsListener = await metricsIfAsked(
    options.metricsListen,
    { home: options.home, metrics, record, actor, logger },
    stop,
  );
  // With the process's start: the CLI then knows a stale file from this server (client.ts).
  writeServerInfo(options.home, { pid: process.pid, port, host, name: o.name });
  logger.info({ host, port }, 'listening');
  campaigning = campaignForever(control, term, {
    name: o.name,
    ttlSeconds: options.leaderTtlSeconds ?? 3,
    signal: abort.signal,
    log: logger,
    api: () => url,
  });
  return { url, name: o.name, stopped, leading: () => term.agents !== null, stop };
}

/** Admission as the leader asks it: pulling what its store lacks first. */
function leaderAdmitted(
  options: ClusterServerOptions,
  o: Opened,
  trust: ReturnType<typeof makeTrust>,
  now: () => number,
): ReturnType<typeof leaderAdmission> {
  const { store, logger } = o;
  const pull = registryPuller(
    store,
    { insecure: [], ...options.registries, env: process.env },
    trust,
  );
  return leaderAdmission({
    admitted: cachedAdmission({ store, trust, now }),
    fleets: o.fleets,
    pull,
    onPullError: (source, err) =>
      logger.warn({ err, source }, 'the leader cannot pull an artifact to admit it'),
  });
}

/**
 * This server's metrics: what it recorded (a standby counts the events it took in, API and
 * hosts; the leader those of its controller too), and its reconcile passes while it leads.
 */
function serverMetrics(o: Opened): ServerMetrics {
  const metrics = new ServerMetrics(
    () => 0,
    () => o.ledger.health.view(),
  );
  o.tap.add((event) => metrics.observe(event));
  return metrics;
}

/** The hosts' routes: join (the join token) and events (a host's credential). */
function hostHandlers(
  o: Opened,
  options: ClusterServerOptions,
  admin: Pick<CoordinationAdmin, 'grantHost'>,
  record: (event: LedgerEntryDraft) => void,
  actor: string,
): ClusterHandlers {
  const deps = {
    joinToken: o.joinToken,
    admin,
    etcd: {
      endpoints: options.etcd.endpoints,
      ...(options.etcd.caFile !== undefined && { ca: readFileSync(options.etcd.caFile, 'utf8') }),
    },
    record,
    now: () => Date.now(),
    actor,
  };
  return {
    join: (authorization, body) => joinHost(deps, authorization, body),
    events: (authorization, body) => Promise.resolve(recordHostEvents(deps, authorization, body)),
  };
}

/** As the leader's last pass saw it (reading changes nothing), or etcd now on a standby. */
function clusterView(control: ControlCoordination, term: Term): () => Promise<ObservedInstance[]> {
  return async () => term.agents?.view() ?? (await standbyView(control));
}

/** The cluster's instances, acted on through their hosts' agents, each call signed. */
function clusterInstanceHosts(o: Opened, control: ControlCoordination, term: Term): InstanceHosts {
  const signed = (host: CallableHost) => ({
    ...host,
    credential: hostCredential(o.joinToken, host.name),
  });
  return remoteInstanceHosts({
    observe: clusterView(control, term),
    hosts: async () => (await control.listHosts()).hosts,
    call: (host, method, path, body) => callHost(signed(host), method, path, body),
    openSession: (host, path) => openHostSession(signed(host), path),
  });
}

/** Every route's use case, on the cluster's pieces. */
function apiHandlers(
  options: ClusterServerOptions,
  o: Opened,
  more: {
    readonly control: ControlCoordination;
    readonly term: Term;
    readonly trust: ReturnType<typeof makeTrust>;
    readonly record: (event: LedgerEntryDraft) => void;
    readonly now: () => number;
    readonly stop: () => Promise<void>;
    readonly hosts: InstanceHosts;
  },
): ApiHandlers {
  const { control, term, trust, record, now } = more;
  const { fleets, ledger, store } = o;
  const observe = clusterView(control, term);
  return {
    ...fleetApi({
      store,
      fleets,
      trust,
      now,
      record,
      pull: registryPuller(store, { insecure: [], ...options.registries, env: process.env }, trust),
      observe,
      fits: assignmentProblem,
      edge: localListens,
      status: () => term.status(),
      reconcileSoon: () => term.kick(),
    }),
    ...instanceApi({
      hosts: more.hosts,
      fleets,
      now,
      reconcileSoon: () => term.kick(),
    }),
    ...clusterHostsApi({ control, now }),
    ...ledgerApi({ recorder: ledger.recorder, ledger: ledger.ledger, now }),
    ...serverApi({
      shutdown: () => setImmediate(() => void more.stop()),
      checkpoints: () => ledger.health.view(),
    }),
  };
}
