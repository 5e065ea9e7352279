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
import { createAgent, type AgentOptions } from './agent.js';
import { version } from './app.js';

export interface ClusterAgentOptions extends Omit<
  AgentOptions,
  'onEvent' | 'logMaxBytes' | 'maxInstances'
> {
  /** A server's API, `http(s)://HOST:PORT`. */
  readonly server: string;
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
  server: string,
  token: string,
  host: string,
  logger: Logger,
): Promise<JoinAnswer> {
  const end = Date.now() + JOIN_PATIENCE_MS;
  for (let wait = 500; ; wait = Math.min(wait * 2, 5000)) {
    try {
      return await requestJoin(server, token, host);
    } catch (err) {
      if (!(err instanceof IngotError) || err.code !== 'E_CLUSTER_UNAVAILABLE' || Date.now() > end)
        throw err;
      logger.warn({ err: err.message }, 'no server answers the join yet; trying again');
      await new Promise((r) => setTimeout(r, wait));
    }
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
    const joined = await joinPatiently(options.server, token, name, logger);
    const saved = join(home, 'cluster.json');
    writeFileSync(
      `${saved}.tmp`,
      JSON.stringify({
        server: options.server,
        host: name,
        etcd: { ...joined.etcd, password: undefined },
      }) + '\n',
      { mode: 0o600 },
    );
    renameSync(`${saved}.tmp`, saved);
    logger.info({ server: options.server, endpoints: joined.etcd.endpoints }, 'joined');
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
  const events = new LedgerRecorder(
    {
      append: (drafts) => postEvents(options.server, name, joined.credential, drafts),
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
    server: _s,
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
  const reader = new ProcHostReader();
  const startedAt = new Date().toISOString();
  const registration = (): HostRegistration => {
    const r = reader.read();
    return {
      name,
      labels: { ...options.labels },
      capacity: { memoryBytes: r.memoryBytes, cpus: r.cpus, pids: r.pids },
      agent: version,
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
      await agent.close();
      await coordination.close().catch(() => undefined);
      await events.close().catch(() => undefined);
      releaseLock();
      logger.info('stopped; instances keep running');
      resolveStopped();
    })());
  return { name, stopped, stop };
}

async function postEvents(
  server: string,
  host: string,
  credential: string,
  drafts: readonly LedgerEntryDraft[],
): Promise<void> {
  for (let i = 0; i < drafts.length; i += 500) {
    const res = await fetch(new URL('/v1/cluster/events', server), {
      method: 'POST',
      headers: { authorization: `Host ${host}:${credential}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: drafts.slice(i, i + 500) }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok)
      throw new IngotError(
        'E_CLUSTER_UNAVAILABLE',
        `${server} did not take the events (${res.status})`,
      );
    await res.arrayBuffer();
  }
}
