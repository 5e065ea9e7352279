/**
 * How often the dashboard's sign-in (POST /ui/session) may be tried: a token bucket per peer
 * address for every attempt, and one for everyone that only failed attempts drain. Threat:
 * someone guessing tokens, or just hammering the constant-time compare and the log, from one
 * address or from many. The tokens are 256-bit random, so guessing is hopeless anyway; the
 * limit keeps trying cheap for us and slow for them. A legitimate user signs in once a day,
 * well inside either bucket.
 *
 * The shared bucket holds back only addresses that have failed before. Threat it once missed:
 * a dozen addresses (or one IPv6 /56) emptying a bucket every attempt drained would have
 * refused everyone's sign-in, the admin's included, for as long as they kept at it. An
 * address that never gave a wrong token meets only its own bucket.
 *
 * Pure: time is an argument. Memory is bounded: at most `maxPeers` addresses are tracked; a
 * full bucket that never failed is the same as no bucket and is dropped first, then the
 * oldest. An attacker with more addresses than that gets fresh buckets, and on its first
 * failure from each meets the shared one.
 */

export interface Bucket {
  /** Attempts allowed at once. */
  readonly burst: number;
  /** Attempts given back per minute. */
  readonly perMinute: number;
}

export interface SignInLimits {
  readonly perPeer: Bucket;
  readonly global: Bucket;
  readonly maxPeers: number;
}

export const SIGN_IN_LIMITS: SignInLimits = {
  perPeer: { burst: 10, perMinute: 10 },
  global: { burst: 100, perMinute: 120 },
  maxPeers: 10_000,
};

export type SignInVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Which bucket is empty: this address's, or the failures' of everyone. */
      readonly scope: 'peer' | 'global';
      /** When this address may try again: every bucket that held it back has refilled (ms, > 0). */
      readonly retryAfterMs: number;
    };

interface State {
  tokens: number;
  at: number;
  /** This address gave a wrong token (since it was last forgotten). */
  failed?: boolean;
}

export class SignInLimiter {
  private readonly peers = new Map<string, State>();
  private readonly global: State;

  constructor(private readonly limits: SignInLimits = SIGN_IN_LIMITS) {
    this.global = { tokens: limits.global.burst, at: -Infinity };
  }

  /**
   * One attempt from `peer` at `now`: taken from its bucket, or refused. An address that has
   * failed before is also held back while everyone's failures have emptied the shared bucket.
   */
  take(peer: string, now: number): SignInVerdict {
    const mine = this.peers.get(peer) ?? { tokens: this.limits.perPeer.burst, at: now };
    refill(mine, this.limits.perPeer, now);
    refill(this.global, this.limits.global, now);
    const heldByPeer = mine.tokens < 1;
    const heldByAll = mine.failed === true && this.global.tokens < 1;
    if (heldByPeer || heldByAll)
      return {
        ok: false,
        scope: heldByPeer ? 'peer' : 'global',
        retryAfterMs: Math.max(
          heldByPeer ? waitFor(mine, this.limits.perPeer) : 0,
          heldByAll ? waitFor(this.global, this.limits.global) : 0,
        ),
      };
    mine.tokens -= 1;
    this.remember(peer, mine, now);
    return { ok: true };
  }

  /** The attempt `take` let in gave a wrong token: it drains the shared bucket. */
  failed(peer: string, now: number): void {
    refill(this.global, this.limits.global, now);
    this.global.tokens = Math.max(0, this.global.tokens - 1);
    const mine = this.peers.get(peer) ?? { tokens: this.limits.perPeer.burst, at: now };
    mine.failed = true;
    this.remember(peer, mine, now);
  }

  private remember(peer: string, state: State, now: number): void {
    this.peers.delete(peer); // re-inserted last: the map's order is the order of last use
    this.peers.set(peer, state);
    this.bound(now);
  }

  /** How many addresses are tracked (for tests: it stays bounded). */
  get tracked(): number {
    return this.peers.size;
  }

  private bound(now: number): void {
    if (this.peers.size <= this.limits.maxPeers) return;
    for (const [peer, state] of this.peers) {
      refill(state, this.limits.perPeer, now);
      if (state.tokens >= this.limits.perPeer.burst && state.failed !== true)
        this.peers.delete(peer);
    }
    for (const peer of this.peers.keys()) {
      if (this.peers.size <= this.limits.maxPeers) break;
      this.peers.delete(peer);
    }
  }
}

function refill(state: State, bucket: Bucket, now: number): void {
  // A clock that went back gives nothing back, and takes nothing either.
  const elapsed = Math.max(0, now - state.at);
  state.tokens = Math.min(bucket.burst, state.tokens + (elapsed * bucket.perMinute) / 60_000);
  state.at = Math.max(state.at, now);
}

function waitFor(state: State, bucket: Bucket): number {
  return Math.max(1, Math.ceil(((1 - state.tokens) * 60_000) / bucket.perMinute));
}
