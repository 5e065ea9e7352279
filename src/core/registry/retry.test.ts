import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, parseRetryAfter, retryDecision, type RetryPolicy } from './retry.js';

const NOW = Date.parse('2026-12-04T10:00:00Z');
const policy: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  maxRetryAfterMs: 10_000,
};

describe('retry policy', () => {
  it('backs off exponentially up to the bound, then gives up', () => {
    const delays = [1, 2, 3].map((a) => retryDecision(policy, a, 503, null, NOW));
    expect(delays).toEqual([
      { retry: true, delayMs: 100 },
      { retry: true, delayMs: 200 },
      { retry: true, delayMs: 400 },
    ]);
    expect(retryDecision(policy, 4, 503, null, NOW)).toEqual({ retry: false, reason: 'attempts' });
    expect(retryDecision({ ...policy, maxAttempts: 10 }, 9, 500, null, NOW)).toEqual({
      retry: true,
      delayMs: 1_000,
    });
  });

  it('retries 429, 5xx "not now" and network errors only', () => {
    for (const s of [0, 429, 500, 502, 503, 504])
      expect(retryDecision(policy, 1, s, null, NOW).retry).toBe(true);
    for (const s of [400, 401, 403, 404, 409, 501, 505])
      expect(retryDecision(policy, 1, s, null, NOW)).toEqual({
        retry: false,
        reason: 'not-retryable',
      });
  });

  it('honours Retry-After in seconds and as an HTTP date, within its bound', () => {
    expect(retryDecision(policy, 1, 429, '3', NOW)).toEqual({ retry: true, delayMs: 3_000 });
    expect(retryDecision(policy, 1, 429, 'Fri, 04 Dec 2026 10:00:07 GMT', NOW)).toEqual({
      retry: true,
      delayMs: 7_000,
    });
    expect(retryDecision(policy, 1, 429, 'Fri, 04 Dec 2026 09:00:00 GMT', NOW)).toEqual({
      retry: true,
      delayMs: 0,
    });
    expect(retryDecision(policy, 1, 429, '3600', NOW)).toEqual({
      retry: false,
      reason: 'retry-after-too-long',
    });
    expect(parseRetryAfter('soon', NOW)).toBeNull();
    expect(parseRetryAfter('-1', NOW)).toBeNull();
    expect(parseRetryAfter(`Fri, ${'9'.repeat(100)}`, NOW)).toBeNull();
  });

  it('never waits longer than its bounds nor tries more often than allowed, whatever the registry says', () => {
    const statuses = fc.constantFrom(0, 429, 500, 503, 504);
    const retryAfter = fc.option(
      fc.oneof(
        fc.string({ maxLength: 12 }),
        fc.nat().map(String),
        fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
      ),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(statuses, retryAfter, fc.double({ min: 0, max: 1, noNaN: true })), {
          minLength: 1,
          maxLength: 20,
        }),
        (answers) => {
          let attempts = 0;
          let waited = 0;
          for (const [status, after, jitter] of answers) {
            attempts++;
            const d = retryDecision(DEFAULT_RETRY, attempts, status, after, NOW, jitter);
            if (!d.retry) break;
            expect(d.delayMs).toBeGreaterThanOrEqual(0);
            expect(d.delayMs).toBeLessThanOrEqual(
              Math.max(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.maxRetryAfterMs),
            );
            waited += d.delayMs;
          }
          expect(attempts).toBeLessThanOrEqual(DEFAULT_RETRY.maxAttempts);
          expect(waited).toBeLessThanOrEqual(
            (DEFAULT_RETRY.maxAttempts - 1) * DEFAULT_RETRY.maxRetryAfterMs,
          );
        },
      ),
    );
  });
});
