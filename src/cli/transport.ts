import { lstatSync } from 'node:fs';
import {
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';

/** Where the API answers: its TCP address, and its Unix socket when it has one. */
export interface Endpoint {
  /** `http(s)://host:port[/prefix]`, also what messages name. */
  readonly base: string;
  readonly host: string;
  readonly port: number;
  /** The server's 0600 socket; preferred, as no other local user can crowd it out. */
  readonly socket?: string;
  /**
   * HTTPS, its certificate verified against the system's CAs, or against `ca` (PEM) alone
   * when given (a private CA). Never unverified: there is no flag for that.
   */
  readonly tls?: { readonly ca?: string };
  /** A path the API is served under (behind a proxy), prepended to every route's. */
  readonly prefix?: string;
}

export interface Answer {
  readonly status: number;
  /** The body as JSON, or {} when it is not JSON. */
  readonly json: unknown;
}

/** An answer larger than this is not the API's: refused rather than held in memory. */
const MAX_ANSWER_BYTES = 512 * 1024 * 1024;

/** The socket if it still is one (a server that died may have left server.json behind). */
export function usableSocket(path: string | undefined): string | undefined {
  try {
    return path !== undefined && lstatSync(path).isSocket() ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Certificate and handshake failures (Node's codes): reported as such, not as "no answer". */
const TLS_FAILURES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Whether a failed request failed at TLS: the server could not be verified. */
export function isTlsFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (TLS_FAILURES.has(code) || code.startsWith('ERR_SSL_'));
}

function open(
  to: Endpoint,
  options: RequestOptions,
  onAnswer: (res: IncomingMessage) => void,
): ClientRequest {
  if (to.socket) return httpRequest({ ...options, socketPath: to.socket }, onAnswer);
  const address = { host: to.host, port: to.port };
  if (!to.tls) return httpRequest({ ...options, ...address }, onAnswer);
  return httpsRequest(
    {
      ...options,
      ...address,
      // Explicit, whatever NODE_TLS_REJECT_UNAUTHORIZED says: the token goes only to a
      // server whose certificate holds.
      rejectUnauthorized: true,
      ...(to.tls.ca !== undefined && { ca: to.tls.ca }),
    },
    onAnswer,
  );
}

/** An answer read whole (bounded), as JSON when it is; `req` is cut if it grows too large. */
function readAnswer(
  req: ClientRequest,
  res: IncomingMessage,
  resolve: (answer: Answer) => void,
  reject: (err: Error) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_ANSWER_BYTES) req.destroy(new Error('the answer is too large'));
    else chunks.push(c);
  });
  res.on('error', reject);
  res.on('end', () => {
    let json: unknown = {};
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      // not JSON: the caller reports the status
    }
    resolve({ status: res.statusCode ?? 0, json });
  });
}

/**
 * One HTTP request to the API: over its Unix socket when there is one, else TCP, in TLS when
 * the endpoint says so.
 */
export function send(
  to: Endpoint,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; timeoutMs: number },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = open(
      to,
      { method, path: `${to.prefix ?? ''}${path}`, headers: options.headers ?? {}, agent: false },
      (res) => readAnswer(req, res, resolve, reject),
    );
    req.setTimeout(options.timeoutMs, () =>
      req.destroy(new Error(`no answer within ${options.timeoutMs / 1000} s`)),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Ask to switch the connection to `protocol` (a break-glass session): the connection once
 * the server switched, or its answer (a refusal) otherwise.
 */
export function upgrade(
  to: Endpoint,
  path: string,
  protocol: string,
  options: { headers: Record<string, string>; timeoutMs: number },
): Promise<{ readonly socket: Duplex } | Answer> {
  return new Promise((resolve, reject) => {
    const req = open(
      to,
      {
        method: 'GET',
        path: `${to.prefix ?? ''}${path}`,
        headers: { ...options.headers, connection: 'Upgrade', upgrade: protocol },
        agent: false,
      },
      (res) => readAnswer(req, res, resolve, reject),
    );
    req.setTimeout(options.timeoutMs, () =>
      req.destroy(new Error(`no answer within ${options.timeoutMs / 1000} s`)),
    );
    req.on('upgrade', (_res, socket: Duplex, head: Buffer) => {
      // The session lives as long as it is used: the request's timeout was for the answer.
      req.setTimeout(0);
      if (head.length > 0) socket.unshift(head);
      resolve({ socket });
    });
    req.on('error', reject);
    req.end();
  });
}
