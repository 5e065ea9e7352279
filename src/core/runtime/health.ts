import type { HealthCheck } from '../../domain/baseline.js';

export type HealthPhase = 'starting' | 'healthy' | 'unhealthy';

export interface HealthState {
  readonly phase: HealthPhase;
  /** Consecutive failed probes that counted. */
  readonly failures: number;
}

export const INITIAL_HEALTH: HealthState = { phase: 'starting', failures: 0 };

/**
 * The next health state after one probe. Pure. Failures during the start grace do not
 * count; after it, more than `retries` consecutive failures make an instance unhealthy; one
 * success makes it healthy again.
 */
export function nextHealth(
  state: HealthState,
  passed: boolean,
  sinceStartMs: number,
  check: HealthCheck,
): HealthState {
  if (passed) return { phase: 'healthy', failures: 0 };
  if (state.phase === 'starting' && sinceStartMs < check.startGraceMs) return state;
  const failures = state.failures + 1;
  return { phase: failures > check.retries ? 'unhealthy' : state.phase, failures };
}
