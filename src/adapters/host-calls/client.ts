import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { signHostCall } from '../../core/cluster/host-call.js';
import { sessionKeys } from '../../core/session/seal.js';
import { isErrorCode } from '../../domain/error-codes.js';
import { IngotError, type ErrorCode } from '../../domain/errors.js';
import type { SessionAttach } from '../../ports/instance-hosts.js';
import { sealedStream } from '../shared/sealed-stream.js';

/** The most a host's answer may hold: a log answer (4 MiB of text, escaped as JSON) and room. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

export interface HostCallTarget {
  readonly name: string;
  /** As its registration says: `http(s)://ADDR:PORT`. */
  readonly api: string;
  /** The host's credential (join.ts), which signs the call and never crosses the wire. */
  readonly credential: string;
}

/**
 * Call a host's agent API (adapters/http/host-api.ts), signed. The answer is the host's: it
 * is bounded here and parsed by the caller's schema. The address comes from the host's own
 * registration, so a compromised host can point it anywhere: the call carries nothing but
 * its signature (useless to anybody but that host), its paths are fixed, and what answers is
 * read as hostile.
 */
export async function callHost(
  target: HostCallTarget,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const bytes = body === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(body));
  const authorization = signHostCall(target.credential, {
    method,
    path,
    body: bytes,
    time: Date.now(),
    nonce: randomBytes(16).toString('hex'),
  });
  let res: Response;
  try {
    res = await fetch(new URL(path, target.api), {
      method,
      headers: {
        authorization,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: bytes }),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw unreachable(target, (err as Error).message);
  }
  return answerOf(target, res.status, await boundedText(res, target));
}

/** A host's answer: its JSON when it is a success, else its refusal as an error. */
function answerOf(target: HostCallTarget, status: number, text: string): unknown {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw unreachable(target, `it answered ${status} with something that is not JSON`);
  }
  if (status >= 200 && status < 300) return answer;
  const error = (answer as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' && isErrorCode(error.code) ? error.code : null;
  const message = (typeof error?.message === 'string' ? error.message : '')
    .slice(0, 2000)
    .replace(CONTROL, ' ');
  if (code === null || !RELAYED.has(code))
    throw unreachable(target, `it answered ${status} ${code ?? ''}: ${message}`);
  throw new IngotError(code, `host ${target.name}: ${message}`);
}

/**
 * Open a break-glass session on a host (GET `path`, signed, upgraded to frames): resolves
 * once the host accepted it, with what relays the client's connection to it, byte for byte
 * (the frames are the two ends' business). A refusal keeps its code as a call's does.
 */
export function openHostSession(target: HostCallTarget, path: string): Promise<SessionAttach> {
  const url = new URL(path, target.api);
  const authorization = signHostCall(target.credential, {
    method: 'GET',
    path,
    body: new Uint8Array(),
    time: Date.now(),
    nonce: randomBytes(16).toString('hex'),
  });
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'GET',
      headers: { authorization, connection: 'Upgrade', upgrade: 'ingot-session' },
      timeout: TIMEOUT_MS,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => reject(unreachable(target, err.message)));
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      });
      res.on('error', (err) => reject(unreachable(target, err.message)));
      res.on('end', () => {
        try {
          answerOf(target, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
          reject(unreachable(target, `it answered ${res.statusCode} instead of a session`));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('upgrade', (_res, host: Duplex, head: Buffer) => {
      // Sealed from here on (core/session/seal.ts): the network sees neither input nor output.
      if (head.length > 0) host.unshift(head);
      const keys = sessionKeys(target.credential, signatureOf(authorization));
      resolve((client) =>
        relay(client, sealedStream(host, { send: keys.toHost, receive: keys.toServer })),
      );
    });
    req.end();
  });
}

/** The signature an Authorization header of a host call carries (its last field). */
function signatureOf(authorization: string): string {
  return authorization.slice(authorization.lastIndexOf(':') + 1);
}

/** Bytes both ways until either end goes; then the other goes too. */
function relay(client: Duplex, host: Duplex): void {
  // The client went before the session was handed over: the host's end goes too.
  if (client.destroyed) return void host.destroy();
  client.pipe(host);
  host.pipe(client);
  const close = () => {
    client.destroy();
    host.destroy();
  };
  client.on('close', close);
  host.on('close', close);
  client.on('error', close);
  host.on('error', close);
}

/**
 * The refusals a host's answer may pass on to the server's client as they are. Any other code
 * is the host's trouble, not the client's request: a host that answers E_UNAUTHORIZED must
 * not make the client think its own token was refused.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

const RELAYED: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'E_INSTANCE_NOT_FOUND',
  'E_PREVIOUS_NOT_FOUND',
  'E_DEBUG_HELD',
  'E_DEBUG_INVALID',
  'E_DEBUG_NOT_OPEN',
  'E_INTEGRITY_OFF',
  'E_CLUSTER_CALL',
]);

function unreachable(target: HostCallTarget, why: string): IngotError {
  return new IngotError(
    'E_CLUSTER_HOST_UNREACHABLE',
    `host ${target.name}'s agent (${target.api}) did not answer: ${why}`,
    { details: { host: target.name } },
  );
}

async function boundedText(res: Response, target: HostCallTarget): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += (chunk as Uint8Array).length;
      if (size > MAX_ANSWER_BYTES) {
        await res.body?.cancel();
        throw unreachable(target, `its answer is larger than ${MAX_ANSWER_BYTES} bytes`);
      }
      chunks.push(chunk as Uint8Array);
    }
  } catch (err) {
    if (err instanceof IngotError) throw err;
    throw unreachable(target, (err as Error).message);
  }
  return Buffer.concat(chunks).toString('utf8');
}
