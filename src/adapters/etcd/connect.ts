import { ExponentialBackoff, noop, type IBackoff } from 'cockatiel';
import { Etcd3, type IOptions } from 'etcd3';
import { IngotError } from '../../domain/errors.js';
import type { CoordinationOptions } from '../../ports/coordination.js';
import { clusterError, withDeadline } from './errors.js';
import { hostGate } from './host-gate.js';
import { watchStreamRenewer, type WatchStreamRenewer } from './watch-stream.js';

/** etcd's default `--max-txn-ops`: a transaction with more operations is refused. */
export const MAX_TXN_OPS = 128;
/**
 * Keys per page when listing: 256 values of at most 64 KiB (MAX_BYTES) stay well under the
 * message cap. Each page is a round trip: the leader lists 10,000 statuses every pass.
 */
export const PAGE = 256;
const MAX_MESSAGE = 32 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 5_000;

/** One etcd client and what every operation on it shares: a deadline and a way to close. */
export interface Connection {
  readonly client: Etcd3;
  readonly timeoutMs: number;
  /** `work()`, bounded by the deadline, its errors as E_CLUSTER_* codes. */
  run<T>(what: string, work: () => Promise<T>): Promise<T>;
  /** Start the client's watch stream again (after etcd refused a watch: watch-stream.ts). */
  readonly renewWatchStream: WatchStreamRenewer;
  /** Stopped (watches, keep-alives) when the connection closes. */
  readonly closers: Set<() => void | Promise<void>>;
  readonly closed: boolean;
  close(): Promise<void>;
}

/** Endpoints as etcd3 takes them, checked: URLs with a scheme, host and port, nothing else. */
function checkEndpoints(options: CoordinationOptions): string[] {
  const bad = (why: string) =>
    new IngotError('E_CLUSTER_CONFIG', `etcd endpoints: ${why}`, {
      details: { endpoints: options.endpoints },
    });
  if (options.endpoints.length === 0) throw bad('none given');
  const schemes = new Set<string>();
  const hosts = options.endpoints.map((e) => {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw bad(`${JSON.stringify(e)} is not a URL (http(s)://host:port)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw bad(`${JSON.stringify(e)}: the scheme must be http or https`);
    if (url.port === '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '')
      throw bad(`${JSON.stringify(e)}: give a scheme, host and port, and nothing else`);
    if (url.username !== '' || url.password !== '')
      throw bad(`${JSON.stringify(e)}: credentials go in the auth options, not the URL`);
    schemes.add(url.protocol);
    return `${url.protocol}//${url.host}`;
  });
  if (schemes.size > 1) throw bad('mix http and https; use one for all members');
  if (options.tls && schemes.has('http:'))
    throw bad('TLS material is given but the endpoints are http; use https');
  return hosts;
}

export function connect(options: CoordinationOptions): Connection {
  const hosts = checkEndpoints(options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 100)
    throw new IngotError('E_CLUSTER_CONFIG', `etcd timeout ${timeoutMs} ms: give at least 100 ms`);
  // Each gRPC call is short: one sent to a member that is electing (or has lost its quorum)
  // is held, not refused, so `run` gives up on it and tries again, on another member, until
  // the whole deadline is spent.
  const callMs = Math.min(1_000, timeoutMs);
  const etcdOptions: IOptions = {
    hosts,
    dialTimeout: callMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callMs }),
    // etcd3's defaults shut a member out for 5 s after three failed calls, and wait up to
    // 30 s before reconnecting a watch: long after a member came back. See hostGate for why
    // not cockatiel's circuit breaker; every operation is bounded by `run` anyway.
    faultHandling: {
      host: hostGate,
      // Retries are `run`'s: it knows the operation's deadline, etcd3's policy does not.
      global: noop,
      // etcd3 types this as a backoff, but uses it as a factory of backoffs (its default is
      // `new ExponentialBackoff()`, as here).
      watchBackoff: new ExponentialBackoff({
        initialDelay: 100,
        maxDelay: 2_000,
      }) as unknown as IBackoff<unknown>,
    },
    grpcOptions: {
      'grpc.max_receive_message_length': MAX_MESSAGE,
      // Find a dead connection (a member behind a cut link) on an idle watch or keep-alive
      // stream; etcd allows a ping every 5 s at most (--grpc-keepalive-min-time).
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
    },
  };
  if (options.tls)
    etcdOptions.credentials = {
      rootCertificate: options.tls.ca,
      ...(options.tls.cert && { certChain: options.tls.cert }),
      ...(options.tls.key && { privateKey: options.tls.key }),
    };
  if (options.auth) {
    const { username, password } = options.auth;
    etcdOptions.auth = {
      username,
      password,
      callOptions: () => ({ deadline: Date.now() + callMs }),
    };
  }
  const client = new Etcd3(etcdOptions);
  let renewWatchStream: WatchStreamRenewer;
  try {
    renewWatchStream = watchStreamRenewer(client);
  } catch (err) {
    client.close();
    throw err;
  }
  const closers = new Set<() => void | Promise<void>>();
  const connection = {
    client,
    timeoutMs,
    renewWatchStream,
    closers,
    closed: false,
    run<T>(what: string, work: () => Promise<T>): Promise<T> {
      if (connection.closed)
        return Promise.reject(
          new IngotError('E_CLUSTER_CLOSED', `${what}: the connection is closed`),
        );
      return retrying(work, timeoutMs, what, () => connection.closed);
    },
    async close(): Promise<void> {
      if (connection.closed) return;
      connection.closed = true;
      await Promise.allSettled([...closers].map(async (c) => c()));
      closers.clear();
      client.close();
    },
  };
  return connection;
}

/**
 * `work()` until it succeeds, fails for a reason other than etcd being unavailable, or the
 * deadline passes. Every operation here may be repeated: puts and deletes set a state, fenced
 * transactions compare before they write, a lease granted twice leaves one to expire unused,
 * and the campaign recognises its own leader key.
 */
async function retrying<T>(
  work: () => Promise<T>,
  timeoutMs: number,
  what: string,
  closed: () => boolean,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const left = deadline - Date.now();
    try {
      return await withDeadline(work(), Math.max(1, left), what);
    } catch (err) {
      const e = clusterError(err, what);
      const pause = Math.min(50 * 2 ** attempt, 400);
      if (e.code !== 'E_CLUSTER_UNAVAILABLE' || closed()) throw e;
      if (Date.now() + pause >= deadline) throw late(what, timeoutMs, e);
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

function late(what: string, timeoutMs: number, last: IngotError): IngotError {
  return new IngotError(
    'E_CLUSTER_UNAVAILABLE',
    `${what}: no answer from etcd within ${timeoutMs} ms (is most of the cluster down?); a write may or may not have been applied`,
    { cause: last },
  );
}

/** The end of etcd's range for every key starting with `prefix`. */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix, 'utf8');
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key (a prefix of only 0xff bytes; not one of ours)
}

/** A revision etcd sent (int64 as a decimal string), as a number, or E_CLUSTER_PROTOCOL. */
export function revisionOf(value: string | number | undefined, what: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new IngotError('E_CLUSTER_PROTOCOL', `${what}: etcd sent revision ${String(value)}`);
  return n;
}
