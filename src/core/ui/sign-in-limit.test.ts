import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignInLimiter, type SignInLimits } from './sign-in-limit.js';

const LIMITS: SignInLimits = {
  perPeer: { burst: 5, perMinute: 6 },
  global: { burst: 20, perMinute: 60 },
  maxPeers: 50,
};

/** Attempts: which of a few peers, and how long after the one before (ms). */
const attempts = fc.array(
  fc.record({ peer: fc.integer({ min: 0, max: 80 }), gap: fc.integer({ min: 0, max: 20_000 }) }),
  { maxLength: 400 },
);

describe('the sign-in limit', () => {
  it('never lets a peer past its burst, nor failed addresses past the shared bucket', () => {
    fc.assert(
      fc.property(attempts, fc.boolean(), (list, roomy) => {
        // Roomy: every address stays tracked, so each peer's own bound holds too.
        const limiter = new SignInLimiter(roomy ? { ...LIMITS, maxPeers: 1000 } : LIMITS);
        let now = 1_000_000;
        const start = now;
        const allowed = new Map<number, number>();
        const failedBefore = new Set<number>();
        let afterFailure = 0;
        for (const { peer, gap } of list) {
          now += gap;
          if (limiter.take(`10.0.0.${peer}`, now).ok) {
            allowed.set(peer, (allowed.get(peer) ?? 0) + 1);
            if (failedBefore.has(peer)) afterFailure++;
            // Odd addresses guess (and fail); even ones hold the token.
            if (peer % 2 === 1) {
              limiter.failed(`10.0.0.${peer}`, now);
              failedBefore.add(peer);
            }
          }
          const minutes = (now - start) / 60_000;
          // Attempts from addresses that failed before: the shared bucket's bound (plus one
          // failure each to be known, and addresses the bounded map forgot start over).
          if (roomy)
            expect(afterFailure).toBeLessThanOrEqual(LIMITS.global.burst + minutes * 60 + 1e-9);
          if (roomy)
            expect(allowed.get(peer) ?? 0).toBeLessThanOrEqual(
              LIMITS.perPeer.burst + minutes * 6 + 1e-9,
            );
          if (!roomy) expect(limiter.tracked).toBeLessThanOrEqual(LIMITS.maxPeers);
        }
      }),
    );
  });

  it('never refuses an address that gave no wrong token for the failures of others', () => {
    fc.assert(
      fc.property(attempts, (list) => {
        const limiter = new SignInLimiter(LIMITS);
        let now = 0;
        for (const { peer, gap } of list) {
          now += gap;
          if (limiter.take(`bad-${peer}`, now).ok) limiter.failed(`bad-${peer}`, now);
        }
        // However many guessed, from however many addresses: the admin gets in.
        expect(limiter.take('admin', now).ok).toBe(true);
      }),
    );
  });

  it('refuses a peer past its burst with the wait after which it may try again', () => {
    const limiter = new SignInLimiter(LIMITS);
    for (let i = 0; i < 5; i++) expect(limiter.take('a', 0)).toEqual({ ok: true });
    const refused = limiter.take('a', 0);
    expect(refused).toEqual({ ok: false, scope: 'peer', retryAfterMs: 10_000 });
    // Another address is not held back by this one.
    expect(limiter.take('b', 0).ok).toBe(true);
    expect(limiter.take('a', 9_999).ok).toBe(false);
    expect(limiter.take('a', 10_000).ok).toBe(true);
  });

  it('refuses an address that failed before once failures emptied the shared bucket', () => {
    const limiter = new SignInLimiter(LIMITS);
    for (let i = 0; i < 20; i++) {
      expect(limiter.take(`p${i}`, 0).ok).toBe(true);
      limiter.failed(`p${i}`, 0);
    }
    expect(limiter.take('p0', 0)).toEqual({ ok: false, scope: 'global', retryAfterMs: 1000 });
    expect(limiter.take('fresh', 0).ok).toBe(true);
    expect(limiter.take('p0', 1000).ok).toBe(true);
  });

  it('keeps the retry wait honest: waiting it out always lets the next attempt in', () => {
    fc.assert(
      fc.property(attempts, (list) => {
        const limiter = new SignInLimiter(LIMITS);
        let now = 0;
        for (const { peer, gap } of list) {
          now += gap;
          const v = limiter.take(`p${peer % 3}`, now);
          if (v.ok && peer % 2 === 1) limiter.failed(`p${peer % 3}`, now);
          if (!v.ok) {
            expect(v.retryAfterMs).toBeGreaterThan(0);
            now += v.retryAfterMs;
            expect(limiter.take(`p${peer % 3}`, now).ok).toBe(true);
          }
        }
      }),
    );
  });
});
