/**
 * How often the dashboard's sign-in (POST /ui/session) may be tried: a token bucket per peer
 * address and one for everyone. Threat: someone guessing tokens, or just hammering the
 * constant-time compare and the log, from one address or from many. The tokens are 256-bit
 * random, so guessing is hopeless anyway; the limit keeps trying cheap for us and slow for
 * them. A legitimate user signs in once a day, well inside either bucket.
 *
 * Pure: time is an argument. Memory is bounded: at most `maxPeers` addresses are tracked; a
 * full bucket is the same as no bucket and is dropped first, then the oldest. An attacker
 * with more addresses than that gets fresh buckets, and meets the global one.
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
      /** Which bucket is empty: this address's, or everyone's. */
      readonly scope: 'peer' | 'global';
      /** When one attempt is given back (ms, > 0). */
      readonly retryAfterMs: number;
    };

interface State {
  tokens: number;
  at: number;
}

export class SignInLimiter {
  private readonly peers = new Map<string, State>();
  private readonly global: State;

  constructor(private readonly limits: SignInLimits = SIGN_IN_LIMITS) {
    this.global = { tokens: limits.global.burst, at: -Infinity };
  }

  /** One attempt from `peer` at `now`: taken from both buckets, or from neither. */
  take(peer: string, now: number): SignInVerdict {
    const mine = this.peers.get(peer) ?? { tokens: this.limits.perPeer.burst, at: now };
    refill(mine, this.limits.perPeer, now);
    refill(this.global, this.limits.global, now);
    if (mine.tokens < 1)
      return { ok: false, scope: 'peer', retryAfterMs: waitFor(mine, this.limits.perPeer) };
    if (this.global.tokens < 1)
      return { ok: false, scope: 'global', retryAfterMs: waitFor(this.global, this.limits.global) };
    mine.tokens -= 1;
    this.global.tokens -= 1;
    this.peers.delete(peer); // re-inserted last: the map's order is the order of last use
    this.peers.set(peer, mine);
    this.bound(now);
    return { ok: true };
  }

  /** How many addresses are tracked (for tests: it stays bounded). */
  get tracked(): number {
    return this.peers.size;
  }

  private bound(now: number): void {
    if (this.peers.size <= this.limits.maxPeers) return;
    for (const [peer, state] of this.peers) {
      refill(state, this.limits.perPeer, now);
      if (state.tokens >= this.limits.perPeer.burst) this.peers.delete(peer);
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
