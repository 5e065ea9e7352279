import { hostname } from 'node:os';
import { join } from 'node:path';
import { destination, multistream, pino, type Logger } from 'pino';
import { claimHome } from '../adapters/home/claim.js';
import { repairHome } from '../adapters/home/private-home.js';
import { removeServerInfo, writeServerInfo } from '../adapters/home/server-info.js';
import { ensureToken } from '../adapters/home/token.js';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../adapters/http/api.js';
import { listenLocal, type LocalApi } from '../adapters/http/local-socket.js';
import { fingerprint } from '../adapters/keys/fingerprint.js';
import { noFileLimit } from '../adapters/process-limits/nofile.js';
import { localKeys } from '../adapters/keys/local-keys.js';
import { trustsHomeKey } from '../services/policy.js';
import type { MetricsListener } from '../adapters/metrics/metrics-listener.js';
import { ServerMetrics } from '../adapters/metrics/prometheus.js';
import { OciLayoutStore } from '../adapters/oci-layout/store.js';
import { SqliteState } from '../adapters/sqlite/state.js';
import type { ApiHandlers } from '../core/api/routes.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import { apiConnectionBudget } from '../core/runtime/descriptor-budget.js';
import { nodeNameOf } from '../domain/cluster.js';
import { digestOf } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
import { fleetApi } from '../services/api/fleets.js';
import { instanceApi } from '../services/api/instances.js';
import { ledgerApi } from '../services/api/ledger.js';
import { serverApi } from '../services/api/server.js';
import { singleHostApi } from '../services/api/hosts.js';
import type { Agent } from '../services/agent/index.js';
import { Controller } from '../services/controller/index.js';
import type { LoadedPolicy } from '../services/policy.js';
import { cachedAdmission } from '../services/server/admission-cache.js';
import { firstStartEvents } from '../services/server/first-start.js';
import { eventLogger } from '../services/server/event-log.js';
import { LedgerTap } from '../services/server/ledger-tap.js';
import { ReconcileLoop } from '../services/server/reconcile-loop.js';
import { TrustWatch } from '../services/server/trust-watch.js';
import { ProcHostReader } from '../adapters/host-capacity/proc-readings.js';
import {
  DEFAULT_MAX_INSTANCES,
  subnetAddresses,
  type HostCapacity,
} from '../core/capacity/host-capacity.js';
import type { FleetStore } from '../ports/fleet-store.js';
import type { InstanceHosts } from '../ports/instance-hosts.js';
import { dashboardOptions } from './dashboard.js';
import { createAgent, DEFAULT_SUBNET, makeTrust, type AgentOptions } from './agent.js';
import { hostInstances } from './host-instances.js';
import { LocalEdge, localListens } from './edge.js';
import { registryPuller } from './registry-app.js';
import { metricsIfAsked, type LogLevel } from './metrics-app.js';
import { openServerLedger, type ServerLedger } from './server-ledger.js';

export interface ServerOptions extends Omit<AgentOptions, 'logMaxBytes'> {
  readonly port?: number;
  readonly host?: string;
  /** How often the controller reconciles (default 500 ms). */
  readonly intervalMs?: number;
  /** Log to stdout too (foreground). */
  readonly logToStdout?: boolean;
  /** Ingot's version, as `ingot hosts` shows the host's agent. */
  readonly version?: string;
  /** server.log's level (default info: events; debug adds a line per request). */
  readonly logLevel?: LogLevel;
  /** Where GET /metrics is served with the metrics token (default: nowhere). */
  readonly metricsListen?: { readonly host: string; readonly port: number };
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Resolves when the server has stopped (after `ingot down` or a signal). */
  readonly stopped: Promise<void>;
  stop(options?: { stopInstances?: boolean }): Promise<void>;
}

function serverLogger(home: string, toStdout: boolean | undefined, level: LogLevel): Logger {
  const file = destination({ dest: join(home, 'server.log'), mode: 0o600 });
  return pino(
    { level, base: { pid: process.pid } },
    // Each stream of a multistream has its own level (info unless told).
    toStdout
      ? multistream([
          { stream: file, level },
          { stream: process.stdout, level },
        ])
      : file,
  );
}

/**
 * Composition root of `ingot up`: the HTTP API, the controller and a local agent in one
 * process, state in SQLite under $INGOT_HOME. It only wires: what each piece does is in
 * services/ (use cases) and adapters/ (the outside world).
 */
export async function runServer(options: ServerOptions): Promise<RunningServer> {
  const { home } = options;
  // Whatever the caller's umask: what this process and its children (runc's pid files and
  // fifos, the store, the agent's files) create in the home is its owner's alone. Files
  // meant for others (an instance's rootfs) are given their modes explicitly.
  process.umask(0o077);
  const repaired = repairHome(home);
  const releaseLock = claimHome(home);
  const logger = serverLogger(home, options.logToStdout, options.logLevel ?? 'info');
  // Every event the ledger records is also a line of the log (and, below, a counter).
  const tap = new LedgerTap((err) => logger.error({ err }, 'a ledger event was not observed'));
  tap.add(eventLogger(logger));
  if (repaired.length > 0) {
    // Said out loud: until now other local users could read what these hold.
    logger.warn({ repaired }, 'file modes in the home repaired: others could read them');
    process.stderr.write(`ingot: made private in ${home}: ${repaired.join(', ')}\n`);
  }
  let state: SqliteState | null = null;
  try {
    // The ledger first: a lost key must be refused before this start writes anything else.
    state = await SqliteState.open(join(home, 'state.db'), { check: true });
    const ledger = await openServerLedger(home, state, logger, tap);
    const token = ensureToken(home);
    // With nothing configured, trust this machine's own key (made now on a first start).
    const local = trustsHomeKey(options) ? localKeys(home) : null;
    const keyFiles = local ? [local.pub] : (options.keyFiles ?? []);
    const store = await OciLayoutStore.open(join(home, 'store'));
    const actor = `server@${hostname()}`;
    for (const event of firstStartEvents({
      time: Date.now(),
      actor,
      ...(ledger.created && { ledgerKey: ledger.created }),
      ...(local?.created && { localKey: { file: local.pub, digest: local.created.digest } }),
      ...(token.created && { token: { digest: digestOf(token.token) } }),
    }))
      ledger.recorder.record(event);
    const trustWatch = new TrustWatch({
      ...(options.policyFile !== undefined && { policyFile: options.policyFile }),
      keyFiles,
      fingerprint,
      record: (event) => ledger.recorder.record(event),
      now: () => Date.now(),
      actor,
    });
    trustWatch.note('loaded');
    await ledger.recorder.flush();
    const fleets = tap.fleets(state.fleets);
    const opened = { token: token.token, keyFiles, store, state, fleets, ledger, tap, trustWatch };
    return await serve(options, opened, { logger, releaseLock });
  } catch (err) {
    await state?.close().catch(() => undefined);
    releaseLock();
    throw err;
  }
}

interface Opened {
  readonly token: string;
  readonly keyFiles: readonly string[];
  readonly store: OciLayoutStore;
  readonly state: SqliteState;
  /** The state's fleets, whose notes the tap sees once written. */
  readonly fleets: FleetStore;
  readonly ledger: ServerLedger;
  readonly tap: LedgerTap;
  readonly trustWatch: TrustWatch;
}

interface Own {
  readonly logger: Logger;
  readonly releaseLock: () => void;
}

/** The API in front of the running control loop; listening, with its address published. */
async function serve(options: ServerOptions, opened: Opened, own: Own): Promise<RunningServer> {
  // The API's connections never take the descriptors the agent needs (issue 15).
  const noFile = noFileLimit();
  const maxConnections = apiConnectionBudget(noFile?.soft ?? 1024);
  own.logger.info({ noFile, maxConnections }, 'descriptors');
  const control = await startControl(options, opened, own.logger);
  const hosts = hostInstances(options.home, control.agent);
  const api: FastifyInstance = buildApi(
    opened.token,
    handlers(options, opened, control, hosts, (o) => setImmediate(() => void lifecycle.stop(o))),
    () => control.metrics.render(),
    own.logger,
    { maxConnections, unprovenMs: 10_000 },
    undefined,
    (id, request) => hosts.debugSession(id, request),
    options.version,
    dashboardOptions(
      options.home,
      {
        release: (digest) => opened.fleets.release(digest),
        entries: (query) => opened.state.entries(query),
      },
      {
        ledger: opened.ledger.ledger,
        store: opened.store,
        trust: control.trust,
        fleets: opened.fleets,
      },
    ),
  );
  let local: LocalApi | null = null;
  let metricsListener: MetricsListener | null = null;
  const lifecycle = stopper(options.home, opened, control, api, {
    ...own,
    closeListeners: async () => {
      await metricsListener?.close();
      await local?.close();
    },
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await api.listen({ host, port: options.port ?? 0 });
  } catch (err) {
    // No API, no server: nothing may keep reconciling in the background.
    await lifecycle.stop();
    throw new IngotError(
      'E_SERVER_START',
      `cannot listen on ${host}:${options.port ?? 0}: ${err instanceof Error ? err.message : 'unknown error'}`,
    );
  }
  const address = api.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  metricsListener = await metricsIfAsked(
    options.metricsListen,
    {
      home: options.home,
      metrics: control.metrics,
      record: control.record,
      actor: `server@${hostname()}`,
      logger: own.logger,
    },
    () => lifecycle.stop(),
  );
  // The CLI's own way in, which no other user can crowd out; without it, TCP alone.
  local = await listenLocal(api, join(options.home, 'local', 'api.sock')).catch((err: unknown) => {
    own.logger.warn({ err }, 'no local API socket: the CLI uses TCP');
    return null;
  });
  writeServerInfo(options.home, {
    pid: process.pid,
    port,
    host,
    ...(local && { socket: local.path }),
  });
  own.logger.info({ host, port }, 'listening');
  control.loop.kick();
  return { url: `http://${host}:${port}`, port, ...lifecycle };
}

interface Control {
  readonly agent: Agent;
  readonly controller: Controller;
  readonly loop: ReconcileLoop;
  readonly metrics: ServerMetrics;
  readonly trust: () => Promise<LoadedPolicy>;
  readonly record: (event: LedgerEntryDraft) => void;
  readonly now: () => number;
  readonly capacity: () => HostCapacity;
  readonly housekeeping: NodeJS.Timeout;
  readonly edge: LocalEdge;
}

/** The agent (its instances adopted), the controller and its loop, the ledger's chores. */
async function startControl(
  options: ServerOptions,
  opened: Opened,
  logger: Logger,
): Promise<Control> {
  const { fleets, store, ledger, trustWatch } = opened;
  const record = (event: LedgerEntryDraft) => ledger.recorder.record(event);
  const policy = {
    ...(options.policyFile !== undefined && { policyFile: options.policyFile }),
    keyFiles: opened.keyFiles,
  };
  const agent = await createAgent({
    home: options.home,
    ...policy,
    onEvent: record,
    ...(options.bridge !== undefined && { bridge: options.bridge }),
    ...(options.subnet !== undefined && { subnet: options.subnet }),
    ...(options.routes !== undefined && { routes: options.routes }),
    ...(options.cgroupParent !== undefined && { cgroupParent: options.cgroupParent }),
    ...(options.stopGraceMs !== undefined && { stopGraceMs: options.stopGraceMs }),
    ...(options.fullVerifyMs !== undefined && { fullVerifyMs: options.fullVerifyMs }),
    ...(options.maxInstances !== undefined && { maxInstances: options.maxInstances }),
    ...(options.registries !== undefined && { registries: options.registries }),
  });
  logger.info(await agent.recover(), 'agent recovered');
  const trust = makeTrust(policy);
  const now = () => Date.now();
  const edge = new LocalEdge(join(options.home, 'edge'), logger);
  const controller = new Controller({
    fleets,
    agent,
    record,
    now,
    admitted: cachedAdmission({ store, trust, now }),
    edge,
  });
  const metrics = new ServerMetrics(
    () => agent.integritySeconds(),
    () => ledger.health.view(),
  );
  opened.tap.add((event) => metrics.observe(event));
  const loop = new ReconcileLoop(
    async () => {
      const statuses = await controller.reconcile();
      metrics.setInstances(
        statuses.flatMap((s) => s.instances.map((i) => ({ fleet: s.fleet.name, state: i.state }))),
      );
    },
    (err) => logger.error({ err }, 'reconcile failed; retrying'),
    () => metrics.reconcileTimer(),
  );
  agent.run(100);
  loop.start(options.intervalMs ?? 500);
  let trustChecked = 0;
  const housekeeping = setInterval(() => {
    if (Date.now() - trustChecked >= 5000) {
      trustChecked = Date.now();
      try {
        trustWatch.check();
      } catch (err) {
        logger.error({ err }, 'what admission trusts could not be recorded');
      }
    }
    ledger.recorder
      .maybeCheckpoint(Date.now())
      .catch((err: unknown) => logger.error({ err }, 'ledger checkpoint failed'));
  }, 1000);
  const host = new ProcHostReader();
  const capacity = (): HostCapacity => ({
    ...host.read(),
    addresses: subnetAddresses(options.subnet ?? DEFAULT_SUBNET),
    maxInstances: options.maxInstances ?? DEFAULT_MAX_INSTANCES,
  });
  return { agent, controller, loop, metrics, trust, record, now, capacity, housekeeping, edge };
}

/** Every route's use case, wired to this server's pieces. */
function handlers(
  options: ServerOptions,
  opened: Opened,
  control: Control,
  hosts: InstanceHosts,
  shutdown: (options: { stopInstances: boolean }) => void,
): ApiHandlers {
  const { fleets, store, ledger } = opened;
  const { agent, controller, trust, record, now } = control;
  const reconcileSoon = () => control.loop.kick();
  return {
    ...fleetApi({
      store,
      fleets,
      trust,
      now,
      record,
      capacity: control.capacity,
      edge: localListens,
      pull: registryPuller(store, { insecure: [], ...options.registries, env: process.env }, trust),
      // As last observed (the controller does twice a second): status never waits on runc.
      observe: () => Promise.resolve(agent.known()),
      status: () => controller.status(),
      reconcileSoon,
    }),
    ...instanceApi({
      hosts,
      fleets,
      now,
      reconcileSoon,
    }),
    ...ledgerApi({ recorder: ledger.recorder, ledger: ledger.ledger, now }),
    ...serverApi({ shutdown, checkpoints: () => ledger.health.view() }),
    ...singleHostApi({
      name: nodeNameOf(hostname()),
      agent: options.version ?? null,
      startedAt: new Date(now()),
      capacity: control.capacity,
      usage: () => agent.usage(),
      now,
    }),
  };
}

/**
 * How the server stops, in order: no more passes, no more requests, the instances (if
 * asked) and the bridge they shared, the agent, everything recorded and a checkpoint over
 * it, the database, the published address, the claim on the home.
 */
function stopper(
  home: string,
  opened: Opened,
  control: Control,
  api: FastifyInstance,
  own: Own & { readonly closeListeners: () => Promise<void> },
): Pick<RunningServer, 'stop' | 'stopped'> {
  const { logger } = own;
  const { recorder } = opened.ledger;
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | null = null;
  const stop = (opts: { stopInstances?: boolean } = {}): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(control.housekeeping);
      await control.loop.stop();
      await control.edge
        .stop()
        .catch((err: unknown) => logger.warn({ err }, 'the edge did not stop cleanly'));
      await api.close();
      await own.closeListeners();
      if (opts.stopInstances) {
        await control.agent.apply([]);
        await control.agent
          .releaseNetwork()
          .catch((err: unknown) => logger.warn({ err }, 'the bridge was not removed'));
      }
      await control.agent.close();
      await recorder
        .close()
        .then(() => recorder.maybeCheckpoint(Date.now(), true))
        .catch((err: unknown) => logger.error({ err }, 'ledger not flushed at stop'));
      await opened.state.close();
      removeServerInfo(home);
      own.releaseLock();
      logger.info({ stopInstances: opts.stopInstances === true }, 'stopped');
      resolveStopped();
    })();
    return stopping;
  };
  return { stop, stopped };
}
