import { writeFileSync, readFileSync, statSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { destination, multistream, pino, type Logger } from 'pino';
import { claimHome } from '../adapters/home/claim.js';
import { repairHome } from '../adapters/home/private-home.js';
import { ProcHostReader } from '../adapters/host-capacity/proc-readings.js';
import { JsonlOutbox } from '../adapters/outbox/jsonl-outbox.js';
import { checkNodeName } from '../core/cluster/index.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import type { HostRegistration } from '../domain/cluster.js';
import { IngotError, UsageError } from '../domain/errors.js';
import { joinAnswer, type JoinAnswer } from '../services/cluster/join.js';
import { HostLoop } from '../services/cluster/host-loop.js';
import { LedgerRecorder } from '../services/ledger.js';
import { hostInstances } from './host-instances.js';
import { buildHostApi } from '../adapters/http/host-api.js';
import type { Agent } from '../services/agent/index.js';
import { createAgent, type AgentOptions } from './agent.js';
import { version } from './app.js';

export interface ClusterAgentOptions extends Omit<
  AgentOptions,
  'onEvent' | 'logMaxBytes' | 'maxInstances'
> {
  /** The cluster's servers' APIs, `http(s)://HOST:PORT`, tried in turn. */
  readonly servers: readonly string[];
  /** Where this agent's own API listens for the servers (logs, verification, break-glass). */
  readonly listen?: { readonly host: string; readonly port: number };
  /** The file holding the cluster's join token. */
  readonly joinTokenFile: string;
  /** This host's name (a DNS label; default: the machine's). */
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** The registration lease's TTL (default 10 s). */
  readonly ttlSeconds?: number;
  readonly logToStdout?: boolean;
}

export interface RunningClusterAgent {
  readonly name: string;
  readonly stopped: Promise<void>;
  /** Stop following the cluster; the instances keep running (static stability). */
  stop(): Promise<void>;
}

const JOIN_TIMEOUT_MS = 15_000;

/** Read a secret file: the owner's alone, bounded, trimmed. */
function readSecret(file: string, what: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw new UsageError(`${what} ${file}: ${(err as Error).message}`);
  }
  if ((mode & 0o077) !== 0)
    throw new UsageError(
      `${what} ${file} can be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
    );
  const text = readFileSync(file, 'utf8').trim();
  if (text.length === 0 || text.length > 256)
    throw new UsageError(`${what} ${file}: expected one token`);
  return text;
}

/** How long an agent waits for a server to answer its join before it gives up. */
const JOIN_PATIENCE_MS = 120_000;

/**
 * Join, trying again while no server answers (an agent may start before the servers, or
 * while one restarts); a refusal of the token ends it at once.
 */
async function joinPatiently(
  servers: readonly string[],
  token: string,
  host: string,
  logger: Logger,
): Promise<{ readonly server: string; readonly joined: JoinAnswer }> {
  const end = Date.now() + JOIN_PATIENCE_MS;
  for (let wait = 500; ; wait = Math.min(wait * 2, 5000)) {
    for (const server of servers) {
      try {
        return { server, joined: await requestJoin(server, token, host) };
      } catch (err) {
        if (
          !(err instanceof IngotError) ||
          err.code !== 'E_CLUSTER_UNAVAILABLE' ||
          Date.now() > end
        )
          throw err;
        logger.warn({ err: err.message }, 'this server does not answer the join; trying another');
      }
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** Ask a server for this host's etcd user and credential. */
async function requestJoin(server: string, token: string, host: string): Promise<JoinAnswer> {
  let res: Response;
  try {
    res = await fetch(new URL('/v1/cluster/join', server), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host }),
      signal: AbortSignal.timeout(JOIN_TIMEOUT_MS),
    });
  } catch (err) {
    throw new IngotError(
      'E_CLUSTER_UNAVAILABLE',
      `cannot reach ${server} to join: ${(err as Error).message}`,
    );
  }
  const body: unknown = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } }).error;
    throw new IngotError(
      res.status === 401 ? 'E_CLUSTER_JOIN' : 'E_CLUSTER_UNAVAILABLE',
      `${server} refused the join (${res.status}${e?.code ? ` ${e.code}` : ''}): ${e?.message ?? ''}`,
    );
  }
  const parsed = joinAnswer.safeParse(body);
  if (!parsed.success || parsed.data.host !== host)
    throw new IngotError('E_CLUSTER_PROTOCOL', `${server} answered the join with something else`);
  return parsed.data;
}

/**
 * Composition root of `ingot agent`: a host of a cluster. It joins through a server (the join
 * token buys an etcd user of its own), then runs the same agent as `ingot up` (admission on
 * the host, read-only measured rootfs, integrity monitor) on exactly the instances its
 * assignments name, and reports their status. Its ledger events go to the servers (kept in an
 * outbox until a server took them).
 */
export async function runClusterAgent(options: ClusterAgentOptions): Promise<RunningClusterAgent> {
  const { home } = options;
  process.umask(0o077);
  repairHome(home);
  const name = checkNodeName(
    options.name ??
      hostname()
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 63),
  );
  const releaseLock = claimHome(home);
  const file = destination({ dest: join(home, 'agent.log'), mode: 0o600 });
  const logger: Logger = pino(
    { level: 'info', base: { pid: process.pid, host: name } },
    options.logToStdout ? multistream([{ stream: file }, { stream: process.stdout }]) : file,
  );
  try {
    const token = readSecret(options.joinTokenFile, 'join token');
    const { server, joined } = await joinPatiently(options.servers, token, name, logger);
    const saved = join(home, 'cluster.json');
    writeFileSync(
      `${saved}.tmp`,
      JSON.stringify({
        servers: options.servers,
        host: name,
        etcd: { ...joined.etcd, password: undefined },
      }) + '\n',
      { mode: 0o600 },
    );
    renameSync(`${saved}.tmp`, saved);
    logger.info({ server, endpoints: joined.etcd.endpoints }, 'joined');
    return await run(options, name, joined, logger, releaseLock);
  } catch (err) {
    releaseLock();
    throw err;
  }
}

async function run(
  options: ClusterAgentOptions,
  name: string,
  joined: JoinAnswer,
  logger: Logger,
  releaseLock: () => void,
): Promise<RunningClusterAgent> {
  const delivery = new EventDelivery(options.servers, name, joined.credential);
  const events = new LedgerRecorder(
    {
      append: (drafts) => delivery.post(drafts),
      checkpoint: () => Promise.resolve(),
      onError: (err) => logger.warn({ err }, 'events not delivered to a server yet; kept'),
    },
    {
      everyMs: Number.MAX_SAFE_INTEGER,
      everyEntries: Number.MAX_SAFE_INTEGER,
      batchMs: 200,
      outbox: new JsonlOutbox(join(options.home, 'events-outbox.jsonl')),
    },
  );
  await events.recover().catch(() => 0);
  const {
    servers: _s,
    listen: _listen,
    joinTokenFile: _j,
    name: _n,
    labels: _l,
    ttlSeconds: _t,
    logToStdout: _o,
    ...agentOptions
  } = options;
  const agent = await createAgent({ ...agentOptions, onEvent: (e) => events.record(e) });
  logger.info(await agent.recover(), 'agent recovered');
  agent.run(100);
  const { openHostCoordination } = await import('../adapters/etcd/index.js');
  const coordination = openHostCoordination(name, {
    endpoints: joined.etcd.endpoints,
    ...(joined.etcd.ca !== undefined && { tls: { ca: Buffer.from(joined.etcd.ca) } }),
    auth: { username: joined.etcd.username, password: joined.etcd.password },
  });
  const hostApi = options.listen
    ? await listenHostApi(options.home, options.listen, joined.credential, agent, logger)
    : null;
  const reader = new ProcHostReader();
  const startedAt = new Date().toISOString();
  const registration = (): HostRegistration => {
    const r = reader.read();
    return {
      name,
      labels: { ...options.labels },
      capacity: { memoryBytes: r.memoryBytes, cpus: r.cpus, pids: r.pids },
      agent: version,
      ...(hostApi !== null && { api: hostApi.url }),
      startedAt,
    };
  };
  const loop = new HostLoop({
    coordination,
    agent,
    registration,
    ttlSeconds: options.ttlSeconds ?? 10,
    log: {
      info: (fields, message) => logger.info(fields, message),
      warn: (fields, message) => logger.warn(fields, message),
    },
  });
  loop.start();
  const retry = setInterval(() => void events.flush().catch(() => undefined), 2000);
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(retry);
      await loop.close();
      await hostApi?.close();
      await agent.close();
      await coordination.close().catch(() => undefined);
      await events.close().catch(() => undefined);
      releaseLock();
      logger.info('stopped; instances keep running');
      resolveStopped();
    })());
  return { name, stopped, stop };
}

/**
 * This agent's own API for the servers' calls (adapters/http/host-api.ts) on `listen`: what
 * `ingot logs`, `verify-instances` and `debug` through a cluster reach. Its URL goes into the
 * host's registration.
 */
async function listenHostApi(
  home: string,
  listen: { readonly host: string; readonly port: number },
  credential: string,
  agent: Agent,
  logger: Logger,
): Promise<{ readonly url: string; close(): Promise<void> }> {
  const api = buildHostApi(credential, hostInstances(home, agent), logger);
  try {
    await api.listen({ host: listen.host, port: listen.port });
  } catch (err) {
    throw new IngotError(
      'E_SERVER_START',
      `cannot listen on ${listen.host}:${listen.port}: ${err instanceof Error ? err.message : 'unknown error'}`,
    );
  }
  const address = api.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  logger.info({ host: listen.host, port }, 'host API listening');
  return { url: `http://${host}:${port}`, close: () => api.close() };
}

/**
 * The host's ledger events, to whichever server takes them: the one that took the last batch
 * first, then the others in turn. A batch no server takes stays in the outbox.
 */
class EventDelivery {
  private first = 0;

  constructor(
    private readonly servers: readonly string[],
    private readonly host: string,
    private readonly credential: string,
  ) {}

  async post(drafts: readonly LedgerEntryDraft[]): Promise<void> {
    let failure: unknown;
    for (let k = 0; k < this.servers.length; k++) {
      const at = (this.first + k) % this.servers.length;
      try {
        await postEvents(this.servers[at]!, this.host, this.credential, drafts);
        this.first = at;
        return;
      } catch (err) {
        failure = err;
      }
    }
    throw failure;
  }
}

async function postEvents(
  server: string,
  host: string,
  credential: string,
  drafts: readonly LedgerEntryDraft[],
): Promise<void> {
  for (let i = 0; i < drafts.length; i += 500) {
    let res: Response;
    try {
      res = await fetch(new URL('/v1/cluster/events', server), {
        method: 'POST',
        headers: {
          authorization: `Host ${host}:${credential}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ events: drafts.slice(i, i + 500) }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      // undici says a refused or cut connection as a TypeError: a server down, not a bug.
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      throw new IngotError(
        'E_CLUSTER_UNAVAILABLE',
        `${server} did not answer (${cause instanceof Error ? cause.message : String(cause)})`,
        { cause: err },
      );
    }
    if (!res.ok)
      throw new IngotError(
        'E_CLUSTER_UNAVAILABLE',
        `${server} did not take the events (${res.status})`,
      );
    await res.arrayBuffer();
  }
}
