import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import {
  pathOf,
  type BodyOf,
  type ParamsOf,
  type ResponseOf,
  type RouteSpec,
} from '../core/api/routes.js';
import { isSameProcess, looksLikeIngotUp } from '../adapters/shared/process-alive.js';
import { isErrorCode } from '../domain/error-codes.js';
import { IngotError } from '../domain/errors.js';
import type { ServerUrl } from '../core/api/server-url.js';
import { resolveTarget, WAYS_TO_A_SERVER, type ApiSettings } from './target.js';
import { readCaFile, readTokenFile } from './token-file.js';
import {
  isTlsFailure,
  send,
  upgrade,
  usableSocket,
  type Answer,
  type Endpoint,
} from './transport.js';

export interface ServerInfo {
  readonly pid: number;
  readonly port: number;
  readonly host: string;
  /** The API's 0600 Unix socket (servers before it had none). */
  readonly socket?: string;
  /** The server process's boot and start time (absent in files of older versions). */
  readonly started?: string;
}

export function serverInfo(home: string): ServerInfo | null {
  try {
    const info = JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as ServerInfo;
    return Number.isInteger(info.pid) && info.pid > 0 ? info : null;
  } catch {
    return null;
  }
}

/**
 * The server of this home, if the process server.json names is still that server: after a
 * kill -9 the file stays, and its pid can belong to any other process by now.
 */
export function runningServer(home: string): ServerInfo | null {
  const info = serverInfo(home);
  if (!info) return null;
  const started = typeof info.started === 'string' ? info.started : undefined;
  // An older file has no start time: then the pid must at least run `ingot … up`.
  return isSameProcess(info.pid, started, looksLikeIngotUp) ? info : null;
}

const proven = new Set<string>();

/** What messages name: the socket when it is used, else host:port (or the URL given). */
const where = (to: Endpoint) => to.socket ?? to.base.replace(/^http:\/\//, '');

/**
 * Make the home's server prove it holds the token before the token is sent: server.json can
 * outlive its server, and another local user could be listening on that port now. (A server
 * named by URL is the user's word, and with https its certificate's.)
 */
async function identify(to: Endpoint, token: string): Promise<void> {
  const key = to.socket ?? to.base;
  if (proven.has(key)) return;
  const nonce = randomBytes(32).toString('hex');
  let proof: unknown;
  try {
    const res = await send(to, 'GET', `/v1/identify?nonce=${nonce}`, { timeoutMs: 10_000 });
    proof = (res.json as { proof?: unknown } | null)?.proof;
  } catch (err) {
    throw new IngotError(
      'E_NOT_RUNNING',
      `Ingot does not answer at ${where(to)} (${(err as Error).message}); start it with \`ingot up --detach\``,
    );
  }
  const expected = createHmac('sha256', token).update(nonce).digest('hex');
  if (
    typeof proof !== 'string' ||
    proof.length !== expected.length ||
    !timingSafeEqual(Buffer.from(proof), Buffer.from(expected))
  )
    throw new IngotError(
      'E_SERVER_IDENTITY',
      `the process at ${where(to)} is not this Ingot (it cannot prove it knows the token): the server may have died; run \`ingot up --detach\``,
    );
  proven.add(key);
}

/** How a call reaches the API, with what token, and what to say when it fails. */
interface Connection {
  readonly to: Endpoint;
  /** The cluster's other servers, tried in turn when `to` cannot be connected to. */
  readonly others?: readonly Endpoint[];
  readonly token: string;
  /** The home's server proves it knows the token first (identify). */
  readonly identify: boolean;
  /** Where the token came from, for a refusal's message. */
  readonly tokenFrom: string;
  /** What to check when nothing answers. */
  readonly hint: string;
}

/** The running server of `home`, and the token to call it with. */
function homeConnection(home: string): Connection {
  const info = serverInfo(home);
  if (!info)
    throw new IngotError(
      'E_NOT_RUNNING',
      `Ingot is not running for ${home}, and no other server is named: ${WAYS_TO_A_SERVER}`,
    );
  const file = join(home, 'token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    const socket = usableSocket(info.socket);
    const to: Endpoint = {
      base: `http://${info.host}:${info.port}`,
      host: info.host,
      port: info.port,
      ...(socket !== undefined && { socket }),
    };
    return { to, token, identify: true, tokenFrom: file, hint: 'is it running?' };
  } catch {
    throw new IngotError(
      'E_UNAUTHORIZED',
      `cannot read ${file} (run as the user who ran ingot up)`,
    );
  }
}

/** Where `api` says the server is, and the token to call it with (files read now). */
function connection(api: ApiSettings): Connection {
  const target = resolveTarget(api);
  if (target.kind === 'home') return homeConnection(target.home);
  const token = readTokenFile(target.tokenFile);
  const ca = target.caFile && readCaFile(target.caFile);
  const endpoint = (url: ServerUrl): Endpoint => ({
    base: url.base,
    host: url.host,
    port: url.port,
    prefix: url.prefix,
    ...(url.tls && { tls: ca ? { ca } : {} }),
  });
  return {
    to: endpoint(target),
    others: target.others.map(endpoint),
    token,
    identify: false,
    tokenFrom: `${target.tokenFile.value} (${target.tokenFile.from})`,
    hint: `is the server running, and is ${target.server.from} right?`,
  };
}

/** Failures of the connection itself: the request never reached the server, so another may take it. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Send to the first server that can be connected to. Only a refused or unroutable connection
 * moves on to the next: a request that may have reached a server (a timeout, a reset) is not
 * sent again elsewhere, where it could act twice.
 */
async function sendToAny(
  endpoints: readonly Endpoint[],
  method: string,
  path: string,
  options: Parameters<typeof send>[3],
): Promise<{ res: Awaited<ReturnType<typeof send>>; to: Endpoint }> {
  return tryEach(endpoints, (to) => send(to, method, path, options));
}

/** `attempt` at each server in turn while the connection itself fails (sendToAny). */
async function tryEach<T>(
  endpoints: readonly Endpoint[],
  attempt: (to: Endpoint) => Promise<T>,
): Promise<{ res: T; to: Endpoint }> {
  let last: SendFailure | undefined;
  for (const to of endpoints) {
    try {
      return { res: await attempt(to), to };
    } catch (err) {
      last = new SendFailure(to, err);
      if (!NOT_CONNECTED.has((err as NodeJS.ErrnoException).code ?? '')) break;
    }
  }
  throw last ?? new Error('no server to send to');
}

/** The last server tried, and why it failed. */
class SendFailure extends Error {
  constructor(
    readonly to: Endpoint,
    readonly err: unknown,
  ) {
    super((err as Error).message);
  }
}

/** A TLS failure, said as what to do: a private CA to give, or http:// to use. */
function tlsError(to: Endpoint, err: unknown): IngotError {
  // OpenSSL's messages run over lines; the first says it.
  const said = ((err as Error).message.split('\n')[0] ?? '').trim();
  if (/wrong version number/i.test(said))
    return new IngotError(
      'E_TLS',
      `the server at ${where(to)} does not answer in TLS (${said}): does it serve http:// rather than https://?`,
    );
  return new IngotError(
    'E_TLS',
    `cannot verify the server at ${where(to)} (${said}): if its certificate is from a private CA, give that CA with --server-ca-file or INGOT_CA_FILE`,
  );
}

export interface Call<R extends RouteSpec> {
  readonly params?: ParamsOf<R>;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: BodyOf<R>;
  /** How long the server may take (default 30 s): a deploy that pulls takes longer. */
  readonly timeoutMs?: number;
}

/**
 * Call a route of the API (`core/api/routes.ts`) where `api` says it is (this home's server,
 * or one named by --server or INGOT_SERVER) with its token; the answer is checked against the
 * route's schema. Errors keep their codes.
 */
export async function call<R extends RouteSpec>(
  api: ApiSettings,
  route: R,
  request: Call<R> = {},
): Promise<ResponseOf<R>> {
  const { to: first, others = [], token, ...how } = connection(api);
  if (how.identify) await identify(first, token);
  const query = Object.entries(request.query ?? {}).filter(
    (e): e is [string, string] => e[1] !== undefined,
  );
  const path = `${pathOf(route, (request.params ?? {}) as ParamsOf<R>)}${
    query.length > 0 ? `?${new URLSearchParams(query).toString()}` : ''
  }`;
  // A POST always carries a JSON body, if only an empty one.
  const body = request.body ?? (route.method === 'POST' ? {} : undefined);
  const sent = await sendToAny([first, ...others], route.method, path, {
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    timeoutMs: request.timeoutMs ?? 30_000,
  }).catch((failure: unknown) => {
    throw unanswered(failure, how.hint);
  });
  const { res, to } = sent;
  const payload: unknown = res.json;
  if (res.status < 200 || res.status >= 300) throw refusal(res, to, how.tokenFrom);
  const parsed = route.response.safeParse(payload);
  if (!parsed.success)
    throw new IngotError(
      'E_API',
      `the answer to ${route.method} ${path} is not what this ingot expects (${parsed.error.issues[0]?.message ?? 'malformed'}): is the server another version?`,
    );
  return parsed.data as ResponseOf<R>;
}

/** Why nothing answered: TLS, or no server at all (`hint` says what to check). */
function unanswered(failure: unknown, hint: string): unknown {
  if (!(failure instanceof SendFailure)) return failure;
  if (isTlsFailure(failure.err)) return tlsError(failure.to, failure.err);
  return new IngotError(
    'E_NOT_RUNNING',
    `Ingot does not answer at ${where(failure.to)} (${(failure.err as Error).message}); ${hint}`,
  );
}

/** A server's refusal as the error it names (its code kept). */
function refusal(res: Answer, to: Endpoint, tokenFrom: string): IngotError {
  const e = (res.json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const message = typeof e?.message === 'string' ? e.message : `HTTP ${res.status}`;
  // A 401 without an Ingot error is a proxy's in front of the server: a refusal all the same.
  if (e?.code === 'E_UNAUTHORIZED' || (res.status === 401 && !isErrorCode(e?.code)))
    return new IngotError(
      'E_UNAUTHORIZED',
      `${where(to)} refused the token from ${tokenFrom}: ${message}`,
    );
  // A code this version does not know (another server version) is kept in the message.
  if (isErrorCode(e?.code)) return new IngotError(e.code, message);
  return new IngotError('E_API', `${message}${typeof e?.code === 'string' ? ` (${e.code})` : ''}`);
}

/**
 * Open a connection switched to `protocol` at `path` (a break-glass session) on the server
 * `api` names, with its token: the connection, or the server's refusal with its code.
 */
export async function openUpgraded(
  api: ApiSettings,
  path: string,
  protocol: string,
): Promise<Duplex> {
  const { to: first, others = [], token, ...how } = connection(api);
  if (how.identify) await identify(first, token);
  const { res, to } = await tryEach([first, ...others], (at) =>
    upgrade(at, path, protocol, {
      headers: { authorization: `Bearer ${token}` },
      timeoutMs: 60_000,
    }),
  ).catch((failure: unknown) => {
    throw unanswered(failure, how.hint);
  });
  if ('socket' in res) return res.socket;
  throw res.status >= 200 && res.status < 300
    ? new IngotError('E_API', `the server answered ${path} without switching to a session`)
    : refusal(res, to, how.tokenFrom);
}
