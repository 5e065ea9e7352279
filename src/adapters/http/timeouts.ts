/**
 * How long the API holds a connection for nothing (issue 15: every connection is a
 * descriptor the agent may need). Idle between requests 5 s; a request's headers within
 * 10 s and all of it within 30 s.
 */
export const API_TIMEOUTS = {
  keepAliveMs: 5000,
  headersMs: 10_000,
  requestMs: 30_000,
  /** How often Node checks the last two (its default, 30 s, let them pile up). */
  checkEveryMs: 1000,
} as const;
