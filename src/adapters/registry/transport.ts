import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
// Their own files, not the package's index: see undici-parts.d.ts.
import Agent from 'undici/lib/dispatcher/agent.js';
import request from 'undici/lib/api/api-request.js';
import { RegistryError } from '../../domain/registry.js';

/** A request body we can send again on a retry or a 307: bytes, or a file read afresh. */
export type Body =
  { readonly bytes: Uint8Array } | { readonly path: string; readonly size: number };

export interface Exchange {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  readonly url: URL;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Body;
}

/** What we use of undici's response body: a stream read once, or let go of. */
export interface AnswerBody extends AsyncIterable<unknown> {
  destroy(error?: Error): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

export interface Answer {
  readonly status: number;
  /** Lower-case names; a list header given twice is joined with ", " (RFC 9110 §5.3). */
  readonly headers: Readonly<Record<string, string>>;
  /** Must be read (`readBounded`, `discard`, `eachChunk`) or destroyed by whoever receives it. */
  readonly body: AnswerBody;
  /** What was asked where, and how long it may stall: for the message of a body that fails. */
  readonly method: Exchange['method'];
  readonly url: URL;
  readonly timeoutMs: number;
}

export interface TransportOptions {
  /** PEM of CAs to trust instead of the system's. */
  readonly ca?: string | Buffer;
  /** Idle time after which a silent registry is given up on. */
  readonly timeoutMs: number;
}

/**
 * Layers are read from the store in chunks this large: 16 times fewer reads and socket
 * writes than the fs default of 64 KiB, and still a small, fixed amount of memory per upload.
 */
const UPLOAD_CHUNK = 1024 * 1024;

/**
 * Headers the distribution spec reads as one value. Threat: a registry (or a proxy) that
 * sends two different ones would have us pick one; such an answer is refused instead.
 */
const SINGLE = new Set([
  'content-length',
  'content-type',
  'docker-content-digest',
  'location',
  'retry-after',
]);

/**
 * One registry's HTTP connections, through undici: kept alive and reused between requests,
 * TLS always verified (the system CAs or the given ones). Redirects, retries and auth are
 * the session's, not this layer's: undici's `request` follows no redirect.
 */
export class Transport {
  private readonly agent: InstanceType<typeof Agent>;

  constructor(private readonly options: TransportOptions) {
    this.agent = new Agent({
      connect: {
        rejectUnauthorized: true,
        timeout: options.timeoutMs,
        ...(options.ca !== undefined && { ca: options.ca }),
      },
      // Both are idle times: a large upload or download that keeps moving is never cut.
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  async exchange(x: Exchange): Promise<Answer> {
    const headers: Record<string, string> = { ...x.headers };
    let body: Uint8Array | Readable | null = null;
    if (x.body && 'bytes' in x.body) body = x.body.bytes;
    else if (x.body) {
      // The client checked the file's size before it opened the upload (pushBlob); undici
      // checks that the stream gives exactly this many bytes.
      headers['content-length'] = String(x.body.size);
      body = createReadStream(x.body.path, { highWaterMark: UPLOAD_CHUNK });
    }
    let answer: Dispatcher.ResponseData;
    try {
      answer = await request.call(this.agent, {
        origin: x.url.origin,
        path: `${x.url.pathname}${x.url.search}`,
        method: x.method,
        headers,
        body,
        // undici closes the connection after a HEAD by default, for servers that wrongly send
        // a body with it. A push asks HEAD of every blob: keep the connection; a registry that
        // sends such a body only garbles its own next answer, which is checked like any other.
        reset: false,
      });
    } catch (err) {
      if (body !== null && 'destroy' in body) body.destroy();
      throw connectError(err, x.url, this.options.timeoutMs);
    }
    // undici fails a body destroyed before its end with an 'error' event: for a body we let
    // go of, nobody listens and it would be an uncaught exception. A reader still gets every
    // error through its iterator.
    answer.body.on('error', () => {});
    const flat: Record<string, string> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined) continue;
      const values = typeof value === 'string' ? [value] : [...new Set(value)];
      if (values.length > 1 && SINGLE.has(name)) {
        answer.body.destroy();
        throw new RegistryError(
          'E_REGISTRY_PROTOCOL',
          `${x.url.origin} answered ${x.method} ${x.url.pathname} with ${values.length} different ${name} headers`,
          { url: x.url.origin, header: name },
        );
      }
      flat[name] = values.join(', ');
    }
    return {
      status: answer.statusCode,
      headers: flat,
      body: answer.body,
      method: x.method,
      url: x.url,
      timeoutMs: this.options.timeoutMs,
    };
  }

  /** Let go of every connection at once; the transport is not used after. */
  close(): Promise<void> {
    return this.agent.destroy();
  }
}

/** Network failures that may not happen again on the next try. */
const TRANSIENT = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  // undici's own: no connection in time, a registry gone quiet before or during its answer,
  // a connection closed under a request (a restart, or a keep-alive connection it dropped).
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** undici's own check of a file body's length failed: the file changed size while it was sent. */
function storeChanged(url: URL, cause: unknown): RegistryError {
  return new RegistryError(
    'E_REGISTRY_SIZE_MISMATCH',
    `a blob file is not the size the push announced to ${url.origin}: the store is damaged or changed under the push`,
    { url: url.origin },
    cause,
  );
}

/** Node's names for a certificate that failed verification (OpenSSL's X509_V_ERR_*). */
const CERTIFICATE = /CERT|ISSUER|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME_MISMATCH|INVALID_CA/;

/**
 * The failure as the user should meet it: E_REGISTRY_CONNECT, `transient` when trying
 * again may help. A refused certificate stays refused, so it is never transient.
 */
function connectError(err: unknown, url: URL, timeoutMs: number): RegistryError {
  const codes = errorCodes(err);
  // The parser refused what came back (undici's HTTPParserError, llhttp's HPE_* codes when it
  // gives them): not a network failure, and the same request again would meet the same
  // registry.
  // (A body shorter than its Content-Length, UND_ERR_RES_CONTENT_LENGTH_MISMATCH, is most often
  // a connection cut in the middle: left to the network failures below, and retried.)
  const malformed =
    codes.find((c) => c.startsWith('HPE_')) ??
    (errorNames(err).includes('HTTPParserError') ? 'HTTPParserError' : undefined);
  if (malformed !== undefined)
    return new RegistryError(
      'E_REGISTRY_PROTOCOL',
      `${url.origin} sent a malformed HTTP answer (${describe(err)})`,
      { url: url.origin, reason: malformed },
      err,
    );
  if (codes.includes('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH')) return storeChanged(url, err);
  const certificate = codes.some((c) => CERTIFICATE.test(c));
  const handshake = !certificate && codes.some((c) => /^ERR_(SSL|TLS)_/.test(c));
  const transient = !certificate && !handshake && codes.some((c) => TRANSIENT.has(c));
  const why =
    codes[0] === 'UND_ERR_CONNECT_TIMEOUT'
      ? `no connection within ${timeoutMs} ms`
      : codes[0] === 'UND_ERR_HEADERS_TIMEOUT'
        ? `no answer within ${timeoutMs} ms`
        : codes[0] === 'UND_ERR_BODY_TIMEOUT'
          ? `the answer stalled for ${timeoutMs} ms`
          : describe(err);
  const hint = certificate
    ? ' (for a private CA, pass --ca-file)'
    : handshake
      ? ' (the TLS handshake failed: is it an https registry? For a private CA, pass --ca-file)'
      : '';
  return new RegistryError(
    'E_REGISTRY_CONNECT',
    `cannot reach ${url.origin}: ${why}${hint}`,
    { url: url.origin, transient, ...(codes[0] !== undefined && { reason: codes[0] }) },
    err,
  );
}

/** The codes of an error, of its cause, and of each attempt of a multi-address connect. */
function errorCodes(err: unknown, depth = 0): string[] {
  if (typeof err !== 'object' || err === null || depth > 3) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  return [
    ...(typeof e.code === 'string' ? [e.code] : []),
    ...errorCodes(e.cause, depth + 1),
    ...(Array.isArray(e.errors) ? e.errors.flatMap((x) => errorCodes(x, depth + 1)) : []),
  ];
}

/** The names of an error and of its causes. */
function errorNames(err: unknown, depth = 0): string[] {
  if (!(err instanceof Error) || depth > 3) return [];
  return [err.name, ...errorNames(err.cause, depth + 1)];
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // OpenSSL's message is a line of its internals; Node puts the readable part in `reason`.
  const reason = (err as { reason?: unknown }).reason;
  if (typeof reason === 'string' && reason !== '') return reason;
  // A connect that tried IPv6 and IPv4 fails with an AggregateError whose own message is empty.
  const first = err instanceof AggregateError ? (err.errors[0] as unknown) : undefined;
  return (
    err.message ||
    (first instanceof Error ? first.message : '') ||
    (err as { code?: string }).code ||
    err.name
  );
}

/**
 * The body's chunks; a connection that fails or stalls while they stream is E_REGISTRY_CONNECT
 * like one that fails before the answer (not retried here: the caller decides).
 */
export async function* chunks(answer: Answer): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of answer.body) yield chunk as Buffer;
  } catch (err) {
    throw connectError(err, answer.url, answer.timeoutMs);
  }
}

/**
 * Hand each chunk of the body to `onChunk` as it arrives, for a large body read once: its
 * 'data' events pass on the buffers the socket filled, where async iteration joins those
 * that queued up into new ones (a copy of much of a layer, into fresh memory). While the
 * promise `onChunk` may return is pending, the body is paused (a slower disk holds the
 * registry back, not memory); what `onChunk` throws or rejects with ends the read. A body
 * that closes before its end without an error (destroyed by someone else) fails it too: it
 * would otherwise leave the promise, and the pull waiting on it, pending for ever.
 */
export function eachChunk(
  answer: Answer,
  onChunk: (chunk: Buffer) => Promise<void> | undefined,
): Promise<void> {
  const body = answer.body;
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      body.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    body.on('data', (chunk) => {
      if (failed) return;
      let wait;
      try {
        wait = onChunk(chunk);
      } catch (err) {
        fail(err);
        return;
      }
      if (wait === undefined) return;
      body.pause();
      wait.then(() => body.resume(), fail);
    });
    let ended = false;
    body.on('end', () => {
      ended = true;
      if (!failed) resolve();
    });
    body.on('error', (err) => fail(connectError(err, answer.url, answer.timeoutMs)));
    // After 'end' or 'error' when all is well; alone when the body was cut short silently.
    body.on('close', () => {
      if (!ended)
        fail(
          new RegistryError(
            'E_REGISTRY_CONNECT',
            `the answer of ${answer.url.origin} to ${answer.method} ${answer.url.pathname} closed before its end`,
            { url: answer.url.origin, transient: true },
          ),
        );
    });
  });
}

/**
 * Read a body whole, at most `max` bytes: the registry decides how much it sends, so a
 * Content-Length over the bound is refused before reading and a body that grows past it
 * is cut off.
 */
export async function readBounded(answer: Answer, max: number, what: string): Promise<Buffer> {
  // A HEAD answer's Content-Length is the size of what a GET would send; its body is empty.
  const declared = answer.method === 'HEAD' ? NaN : Number(answer.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    answer.body.destroy();
    throw tooLarge(what, max);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of chunks(answer)) {
    total += chunk.length;
    if (total > max) {
      answer.body.destroy();
      throw tooLarge(what, max);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, total);
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
