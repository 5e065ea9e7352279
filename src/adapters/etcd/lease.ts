import type { Lease } from 'etcd3';
import { IngotError } from '../../domain/errors.js';
import type { LeaseHandle } from '../../ports/coordination.js';
import type { Connection } from './connect.js';

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
  const { lease, id, confirmedAt } = await grant(conn, ttlSeconds, what);
  const ttlMs = ttlSeconds * 1000;
  let state: 'alive' | 'released' | 'revoked' | 'lost' = 'alive';
  let resolveLost: (err: IngotError) => void = () => undefined;
  const lost = new Promise<IngotError>((resolve) => (resolveLost = resolve));
  const stop = () => {
    clearInterval(timer);
    lease.release();
    conn.closers.delete(stop);
  };
  const loseWith = (err: IngotError) => {
    if (state === 'revoked' || state === 'lost') return;
    state = 'lost';
    stop();
    resolveLost(err);
  };
  lease.on('lost', (err) =>
    loseWith(
      new IngotError(
        'E_CLUSTER_LEASE_LOST',
        `${what}: etcd says lease ${id} is gone (${err.message})`,
        {
          cause: err,
        },
      ),
    ),
  );
  const timer = setInterval(
    () => {
      if (Date.now() - confirmedAt() > ttlMs)
        loseWith(
          new IngotError(
            'E_CLUSTER_LEASE_LOST',
            `${what}: no keep-alive of lease ${id} confirmed for ${ttlSeconds} s; it may have expired`,
          ),
        );
    },
    Math.max(100, Math.floor(ttlMs / 8)),
  );
  conn.closers.add(stop);
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
      await conn.run(`${what}: revoking lease ${id}`, () => lease.revoke());
    },
  };
}

/**
 * A granted lease with its keep-alives running, and when the latest confirmed keep-alive was
 * sent. Each attempt is a new etcd3 lease (one whose grant failed stays failed); attempts
 * given up on are released, so none is kept alive unseen: one etcd granted anyway expires.
 */
async function grant(
  conn: Connection,
  ttlSeconds: number,
  what: string,
): Promise<{ lease: Lease; id: string; confirmedAt: () => number }> {
  const attempts: Lease[] = [];
  let chosen: { lease: Lease; id: string; confirmedAt: () => number } | null = null;
  try {
    chosen = await conn.run(`${what}: granting a lease`, async () => {
      let confirmed = Date.now(); // etcd granted it no earlier than this
      // When each keep-alive still unanswered was sent: answers come in order on the stream.
      const fired: number[] = [];
      const lease = conn.client.lease(ttlSeconds);
      attempts.push(lease);
      lease.on('keepaliveFired', () => fired.push(Date.now()));
      lease.on('keepaliveSucceeded', () => (confirmed = fired.shift() ?? confirmed));
      lease.on('keepaliveFailed', () => (fired.length = 0)); // a new stream starts afresh
      const id = await lease.grant();
      return { lease, id, confirmedAt: () => confirmed };
    });
    return chosen;
  } finally {
    for (const lease of attempts) if (lease !== chosen?.lease) lease.release();
  }
}
