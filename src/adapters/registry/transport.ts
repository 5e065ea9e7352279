import { createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { RegistryError } from '../../domain/registry.js';

/** A request body we can send again on a retry or a 307: bytes, or a file read afresh. */
export type Body =
  { readonly bytes: Uint8Array } | { readonly path: string; readonly size: number };

/** Network failures that may not happen again on the next try. */
const TRANSIENT = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

export interface Exchange {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  readonly url: URL;
  readonly headers: OutgoingHttpHeaders;
  readonly body?: Body;
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  /** Must be read or destroyed by whoever receives the answer. */
  readonly body: IncomingMessage;
}

export interface TransportOptions {
  /** PEM of CAs to trust instead of the system's. */
  readonly ca?: string | Buffer;
  /** Idle time after which a silent registry is given up on. */
  readonly timeoutMs: number;
}

/**
 * One HTTP exchange with Node's own client. TLS is always verified (system CAs or the
 * given ones); redirects, retries and auth are the session's, not this layer's.
 */
export function exchange(x: Exchange, options: TransportOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const https = x.url.protocol === 'https:';
    const headers: OutgoingHttpHeaders = { ...x.headers };
    if (x.body) headers['content-length'] = 'bytes' in x.body ? x.body.bytes.length : x.body.size;
    const req = (https ? httpsRequest : httpRequest)(x.url, {
      method: x.method,
      headers,
      ...(https && options.ca !== undefined && { ca: options.ca }),
      rejectUnauthorized: true,
    });
    const fail = (err: NodeJS.ErrnoException) =>
      reject(
        new RegistryError(
          'E_REGISTRY_CONNECT',
          `cannot reach ${x.url.origin}: ${err.message}${https && !TRANSIENT.has(err.code ?? '') ? ' (for a private CA, pass --ca-file)' : ''}`,
          // A refused certificate stays refused: only a dropped or slow connection is worth retrying.
          { url: x.url.origin, transient: TRANSIENT.has(err.code ?? '') || err.code === undefined },
          err,
        ),
      );
    req.setTimeout(options.timeoutMs, () =>
      req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
    );
    req.on('error', fail);
    req.on('response', (res) => {
      res.setTimeout(options.timeoutMs, () =>
        res.destroy(new Error(`stalled for ${options.timeoutMs} ms`)),
      );
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    if (!x.body) req.end();
    else if ('bytes' in x.body) req.end(x.body.bytes);
    else {
      const file = createReadStream(x.body.path);
      file.on('error', (err) => req.destroy(err));
      file.pipe(req);
    }
  });
}

/**
 * Read a body whole, at most `max` bytes: the registry decides how much it sends, so a
 * Content-Length over the bound is refused before reading and a body that grows past it
 * is cut off.
 */
export async function readBounded(answer: Answer, max: number, what: string): Promise<Buffer> {
  const declared = Number(answer.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    answer.body.destroy();
    throw tooLarge(what, max);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of answer.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      answer.body.destroy();
      throw tooLarge(what, max);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** Throw the body away (bounded: a large one is cut, not read). */
export async function discard(answer: Answer): Promise<void> {
  try {
    await readBounded(answer, 64 * 1024, 'an ignored answer');
  } catch {
    // Nothing in it was wanted; the connection is dropped with it.
  }
}

function tooLarge(what: string, max: number): RegistryError {
  return new RegistryError('E_REGISTRY_TOO_LARGE', `${what} is larger than ${max} bytes`, { max });
}
