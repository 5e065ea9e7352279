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
  let res: Response;
  try {
    res = await fetch(`http://${info.host}:${info.port}${path}`, {
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
