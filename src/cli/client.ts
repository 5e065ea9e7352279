import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

export interface ServerInfo {
  readonly pid: number;
  readonly port: number;
  readonly host: string;
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

/**
 * Make the server at `base` prove it holds the token before the token is sent: server.json
 * can outlive its server, and another local user could be listening on that port now.
 */
async function identify(base: string, token: string): Promise<void> {
  if (proven.has(base)) return;
  const nonce = randomBytes(32).toString('hex');
  let proof: unknown;
  try {
    const res = await fetch(`${base}/v1/identify?nonce=${nonce}`, {
      signal: AbortSignal.timeout(10_000),
    });
    proof = ((await res.json()) as { proof?: unknown }).proof;
  } catch (err) {
    throw new IngotError(
      'E_NOT_RUNNING',
      `Ingot does not answer at ${base} (${(err as Error).message}); start it with \`ingot up --detach\``,
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
      `the process at ${base} is not this Ingot (it cannot prove it knows the token): the server may have died; run \`ingot up --detach\``,
    );
  proven.add(base);
}

/** The running server of `home`, and the token to call it with. */
function connection(home: string): { base: string; token: string } {
  const info = serverInfo(home);
  if (!info)
    throw new IngotError(
      'E_NOT_RUNNING',
      `Ingot is not running for ${home}: start it with \`ingot up --detach\``,
    );
  try {
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    return { base: `http://${info.host}:${info.port}`, token };
  } catch {
    throw new IngotError(
      'E_UNAUTHORIZED',
      `cannot read ${join(home, 'token')} (run as the user who ran ingot up)`,
    );
  }
}

export interface Call<R extends RouteSpec> {
  readonly params?: ParamsOf<R>;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: BodyOf<R>;
}

/**
 * Call a route of the local server's API (`core/api/routes.ts`) with the admin token; its
 * answer is checked against the route's schema. Errors keep their codes.
 */
export async function call<R extends RouteSpec>(
  home: string,
  route: R,
  request: Call<R> = {},
): Promise<ResponseOf<R>> {
  const { base, token } = connection(home);
  await identify(base, token);
  const query = Object.entries(request.query ?? {}).filter(
    (e): e is [string, string] => e[1] !== undefined,
  );
  const path = `${pathOf(route, (request.params ?? {}) as ParamsOf<R>)}${
    query.length > 0 ? `?${new URLSearchParams(query).toString()}` : ''
  }`;
  // A POST always carries a JSON body, if only an empty one.
  const body = request.body ?? (route.method === 'POST' ? {} : undefined);
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method: route.method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new IngotError(
      'E_NOT_RUNNING',
      `Ingot does not answer at ${base.slice('http://'.length)} (${(err as Error).message}); is it running?`,
    );
  }
  const payload: unknown = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = (payload as { error?: { code?: unknown; message?: unknown } }).error;
    const message = typeof e?.message === 'string' ? e.message : `HTTP ${res.status}`;
    // A code this version does not know (another server version) is kept in the message.
    if (isErrorCode(e?.code)) throw new IngotError(e.code, message);
    throw new IngotError('E_API', `${message}${typeof e?.code === 'string' ? ` (${e.code})` : ''}`);
  }
  const parsed = route.response.safeParse(payload);
  if (!parsed.success)
    throw new IngotError(
      'E_API',
      `the answer to ${route.method} ${path} is not what this ingot expects (${parsed.error.issues[0]?.message ?? 'malformed'}): is the server another version?`,
    );
  return parsed.data as ResponseOf<R>;
}
