import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IngotError } from '../domain/errors.js';

export interface ServerInfo {
  readonly pid: number;
  readonly port: number;
  readonly host: string;
}

export function serverInfo(home: string): ServerInfo | null {
  try {
    return JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as ServerInfo;
  } catch {
    return null;
  }
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

/** A call to the local server's API with the admin token; errors keep their codes. */
export async function api<T>(
  home: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const info = serverInfo(home);
  if (!info)
    throw new IngotError(
      'E_NOT_RUNNING',
      `Ingot is not running for ${home}: start it with \`ingot up --detach\``,
    );
  let token: string;
  try {
    token = readFileSync(join(home, 'token'), 'utf8').trim();
  } catch {
    throw new IngotError(
      'E_UNAUTHORIZED',
      `cannot read ${join(home, 'token')} (run as the user who ran ingot up)`,
    );
  }
  const base = `http://${info.host}:${info.port}`;
  await identify(base, token);
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
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
      `Ingot does not answer at ${info.host}:${info.port} (${(err as Error).message}); is it running?`,
    );
  }
  const payload = (await res.json().catch(() => ({}))) as {
    error?: { code: string; message: string };
  };
  if (!res.ok) {
    const e = payload.error;
    throw new IngotError(e?.code ?? 'E_API', e?.message ?? `HTTP ${res.status}`);
  }
  return payload as T;
}
