import { Etcd3, type IOptions } from 'etcd3';
import { IngotError } from '../../domain/errors.js';
import type { CoordinationOptions } from '../../ports/coordination.js';
import { withDeadline } from './errors.js';

/** etcd's default `--max-txn-ops`: a transaction with more operations is refused. */
export const MAX_TXN_OPS = 128;
/** Keys per page when listing: 128 values of at most 64 KiB stay well under the message cap. */
export const PAGE = 128;
const MAX_MESSAGE = 32 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 5_000;

/** One etcd client and what every operation on it shares: a deadline and a way to close. */
export interface Connection {
  readonly client: Etcd3;
  readonly timeoutMs: number;
  /** `work()`, bounded by the deadline, its errors as E_CLUSTER_* codes. */
  run<T>(what: string, work: () => Promise<T>): Promise<T>;
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
  // Each gRPC call gets a share of the whole deadline, so that a call held by a member that
  // lost its quorum (or is electing) leaves time to retry on another member.
  const callMs = Math.max(50, Math.floor(timeoutMs / 2.5));
  const etcdOptions: IOptions = {
    hosts,
    dialTimeout: callMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callMs }),
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
  const closers = new Set<() => void | Promise<void>>();
  const connection = {
    client,
    timeoutMs,
    closers,
    closed: false,
    run<T>(what: string, work: () => Promise<T>): Promise<T> {
      if (connection.closed)
        return Promise.reject(
          new IngotError('E_CLUSTER_CLOSED', `${what}: the connection is closed`),
        );
      return withDeadline(work(), timeoutMs, what);
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
