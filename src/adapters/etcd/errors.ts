import { isBrokenCircuitError } from 'cockatiel';
import {
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  GRPCUnauthenticatedError,
  isRecoverableError,
} from 'etcd3';
import { ETCD_MAX_REQUEST_BYTES } from '../../core/cluster/index.js';
import { IngotError, type CodesOf } from '../../domain/errors.js';

export type ClusterCode = CodesOf<'cluster'>;

/** Messages etcd sends while it has no quorum, is changing leaders or catching up: try again. */
const UNAVAILABLE = [
  'etcdserver: request timed out',
  'etcdserver: no leader',
  'etcdserver: not leader',
  'etcdserver: unhealthy cluster',
  'etcdserver: leader changed',
  'etcdserver: too many requests',
  'etcdserver: server stopped',
  'etcdserver: not capable',
  'mvcc: database space exceeded',
  // etcd's users or roles changed while the request waited to be served (a host joined; seen
  // too on a member just restarted): asked again, it is judged on the current ones.
  'etcdserver: revision of auth store is old',
];

/**
 * etcd's refusals of a request over its members' --max-request-bytes: its own, and gRPC's for
 * one over that plus 512 KiB. Neither is worth trying again.
 */
const TOO_LARGE = ['etcdserver: request is too large', 'received message larger than max'];

/**
 * etcd refused a token it no longer knows: one issued before the member restarted, or left
 * unused too long. Authenticating again cures it (unlike a refused password or permission).
 */
export function isStaleToken(err: unknown): boolean {
  const cause = err instanceof IngotError ? err.cause : err;
  return cause instanceof EtcdInvalidAuthTokenError;
}

/** etcd refused a watch for its credentials or their permissions (not for its revision). */
export function isRefusedWatch(err: unknown): boolean {
  return (
    err instanceof EtcdInvalidAuthTokenError ||
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdPermissionDeniedError ||
    err instanceof GRPCUnauthenticatedError
  );
}

/**
 * What an etcd3 (or gRPC) error means for a caller, as one of our codes. `what` says what was
 * being done ("writing the assignments of web-1"), so the message stands on its own.
 */
export function clusterError(err: unknown, what: string): IngotError {
  if (err instanceof IngotError) return err as IngotError;
  const message = err instanceof Error ? err.message : String(err);
  const wrap = (code: ClusterCode, text: string) =>
    new IngotError(code, `${what}: ${text}`, { cause: err });
  if (err instanceof EtcdPermissionDeniedError)
    return wrap(
      'E_CLUSTER_DENIED',
      "etcd refused it: this user's roles do not allow it (etcd's RBAC)",
    );
  if (
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdInvalidAuthTokenError ||
    err instanceof GRPCUnauthenticatedError ||
    message.includes('etcdserver: user name is empty')
  )
    return wrap(
      'E_CLUSTER_AUTH',
      'etcd refused the credentials: check the user and password (or certificate) given to connect',
    );
  if (err instanceof EtcdLeaseInvalidError)
    return wrap('E_CLUSTER_LEASE_LOST', 'the lease expired or was revoked');
  if (err instanceof ClientClosedError) return wrap('E_CLUSTER_CLOSED', 'the connection is closed');
  // Before the transport errors: gRPC's refusal is RESOURCE_EXHAUSTED, which etcd3 would retry.
  if (TOO_LARGE.some((m) => message.includes(m)))
    return wrap(
      'E_CLUSTER_TOO_LARGE',
      `etcd refused the request as too large (${message.slice(0, 200)}): its members bound a request with --max-request-bytes (${ETCD_MAX_REQUEST_BYTES} as Ingot runs them)`,
    );
  if (
    // What etcd3 itself would try on another member: the transport broke (unavailable,
    // cancelled, internal, unknown), the deadline passed, the member was too busy.
    (err instanceof Error && isRecoverableError(err)) ||
    isBrokenCircuitError(err) ||
    UNAVAILABLE.some((m) => message.includes(m))
  )
    return wrap(
      'E_CLUSTER_UNAVAILABLE',
      `etcd did not answer (${message.slice(0, 200)}); with no quorum it cannot, so check that most members run`,
    );
  return wrap(
    'E_CLUSTER_PROTOCOL',
    `etcd answered what this client did not expect: ${message.slice(0, 300)}`,
  );
}

/**
 * `work`, or E_CLUSTER_UNAVAILABLE after `ms`: etcd without a quorum does not fail a request,
 * it holds it, and the client's own retries can multiply its deadline. The work itself goes
 * on in the background until its own gRPC deadline; a write given up on here may still land.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new IngotError(
            'E_CLUSTER_UNAVAILABLE',
            `${what}: no answer from etcd within ${ms} ms (most members may be down); a write may or may not have been applied`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([work, late]);
  } catch (err) {
    throw clusterError(err, what);
  } finally {
    clearTimeout(timer);
  }
}
