import type { Lease } from 'etcd3';
import { IngotError } from '../../domain/errors.js';
import type { LeaseHandle } from '../../ports/coordination.js';
import type { Connection } from './connect.js';
import { clusterError } from './errors.js';

/** etcd's shortest lease with default timing is 1.5 × the election timeout (1 s): 2 s. */
export const MIN_TTL_SECONDS = 2;

/** A lease and its handle; the etcd3 lease stays inside the adapter. */
export interface KeptLease extends LeaseHandle {
  /** True once the lease is lost, released past its TTL, or revoked. */
  readonly ended: () => boolean;
}

/**
 * Grant a lease of `ttlSeconds` and keep it alive (etcd3 sends a keep-alive every TTL/3).
 *
 * Loss is reported as soon as it is known or can no longer be ruled out: etcd answers that the
 * lease is gone, or no keep-alive was confirmed for a whole TTL, counted from when the last
 * confirmed keep-alive was *sent* (etcd renewed it no earlier than that). etcd3 alone waits
 * two TTLs before it gives up on an unreachable cluster; a leader must not act that long on a
 * term that may be over.
 */
export async function keepLease(
  conn: Connection,
  ttlSeconds: number,
  what: string,
): Promise<KeptLease> {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < MIN_TTL_SECONDS)
    throw new IngotError(
      'E_CLUSTER_CONFIG',
      `${what}: a lease TTL of ${ttlSeconds} s is too short; give a whole number of seconds, at least ${MIN_TTL_SECONDS}`,
    );
  const ttlMs = ttlSeconds * 1000;
  let confirmed = Date.now();
  // When each keep-alive still unanswered was sent: answers come back in order on the stream.
  const fired: number[] = [];
  const lease: Lease = conn.client.lease(ttlSeconds);
  let state: 'alive' | 'released' | 'revoked' | 'lost' = 'alive';
  let resolveLost: (err: IngotError) => void = () => undefined;
  const lost = new Promise<IngotError>((resolve) => (resolveLost = resolve));
  const loseWith = (err: IngotError) => {
    if (state === 'revoked' || state === 'lost') return;
    state = 'lost';
    clearInterval(timer);
    lease.release();
    conn.closers.delete(stop);
    resolveLost(err);
  };
  lease.on('keepaliveFired', () => fired.push(Date.now()));
  lease.on('keepaliveSucceeded', () => (confirmed = fired.shift() ?? confirmed));
  lease.on('keepaliveFailed', () => (fired.length = 0)); // a new stream starts afresh
  lease.on('lost', (err) =>
    loseWith(
      new IngotError(
        'E_CLUSTER_LEASE_LOST',
        `${what}: etcd says the lease is gone (${err.message})`,
        {
          cause: err,
        },
      ),
    ),
  );
  const timer = setInterval(
    () => {
      if (Date.now() - confirmed > ttlMs)
        loseWith(
          new IngotError(
            'E_CLUSTER_LEASE_LOST',
            `${what}: no keep-alive confirmed for ${ttlSeconds} s; the lease may have expired`,
          ),
        );
    },
    Math.max(100, Math.floor(ttlMs / 8)),
  );
  const stop = () => {
    clearInterval(timer);
    lease.release();
  };
  conn.closers.add(stop);
  let id: string;
  try {
    id = await conn.run(`${what}: granting a lease`, () => lease.grant());
  } catch (err) {
    state = 'revoked';
    stop();
    conn.closers.delete(stop);
    throw clusterError(err, what);
  }
  return {
    id,
    ttlSeconds,
    lost,
    ended: () => state !== 'alive',
    release: () => {
      if (state !== 'alive') return;
      state = 'released';
      lease.release();
      // The timer keeps running: `lost` resolves once a TTL has passed unconfirmed.
    },
    revoke: async () => {
      if (state === 'revoked') return;
      state = 'revoked';
      stop();
      conn.closers.delete(stop);
      await conn.run(`${what}: revoking lease ${id}`, () => lease.revoke());
    },
  };
}
