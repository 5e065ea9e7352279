/**
 * When to try a registry request again. Pure: the caller passes the clock and sleeps. A
 * registry (or anyone on the path) decides our status codes and Retry-After headers, so
 * every wait and the number of attempts are bounded here, whatever it says.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Wait after the first failure; doubled after each further one. */
  readonly baseDelayMs: number;
  /** No computed wait is longer. */
  readonly maxDelayMs: number;
  /** A Retry-After asking for longer than this is not honoured: we give up instead of hanging. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
};

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | {
      readonly retry: false;
      readonly reason: 'not-retryable' | 'attempts' | 'retry-after-too-long';
    };

/** Too many requests, and the 5xx answers that mean "not now" rather than "never". */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * Parse Retry-After: delay-seconds or an HTTP date (RFC 9110 §10.2.3), as ms from `nowMs`.
 * Null when absent or unreadable (then our own backoff applies).
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^[0-9]{1,10}$/.test(v)) return Number(v) * 1000;
  // An HTTP date is about 29 characters; anything much longer is not one.
  if (v.length > 64 || !/^[A-Za-z]{3},? /.test(v)) return null;
  const when = Date.parse(v);
  if (Number.isNaN(when)) return null;
  return Math.max(0, when - nowMs);
}

/**
 * After attempt number `attempt` (1 for the first) failed with `status` (0: no answer, a
 * network error), decide whether to try again and after how long. `jitter` in [0, 1) scales
 * the computed backoff down by up to half, so that many clients do not retry in step.
 */
export function retryDecision(
  policy: RetryPolicy,
  attempt: number,
  status: number,
  retryAfter: string | null,
  nowMs: number,
  jitter = 0,
): RetryDecision {
  if (status !== 0 && !isRetryableStatus(status)) return { retry: false, reason: 'not-retryable' };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'attempts' };
  const asked = parseRetryAfter(retryAfter, nowMs);
  if (asked !== null) {
    if (asked > policy.maxRetryAfterMs) return { retry: false, reason: 'retry-after-too-long' };
    return { retry: true, delayMs: asked };
  }
  const exponential = Math.min(
    policy.maxDelayMs,
    policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30),
  );
  const j = Math.min(Math.max(jitter, 0), 0.999);
  return { retry: true, delayMs: Math.round(exponential * (1 - j / 2)) };
}
