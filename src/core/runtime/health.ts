import type { HealthCheck } from '../../domain/baseline.js';

export type HealthPhase = 'starting' | 'healthy' | 'unhealthy';

export interface HealthState {
  readonly phase: HealthPhase;
  /** Consecutive failed probes that counted. */
  readonly failures: number;
}

/**
 * What one probe found. 'unprobed': the agent could not make the probe at all (out of file
 * descriptors, say), which tells nothing about the instance.
 */
export type ProbeOutcome = 'passed' | 'failed' | 'unprobed';

export const INITIAL_HEALTH: HealthState = { phase: 'starting', failures: 0 };

/**
 * The next health state after one probe. Pure. Failures during the start grace do not
 * count; after it, more than `retries` consecutive failures make an instance unhealthy; one
 * success makes it healthy again. A probe the agent could not make changes nothing: the
 * agent's own trouble must never get a healthy instance replaced.
 */
export function nextHealth(
  state: HealthState,
  outcome: ProbeOutcome,
  sinceStartMs: number,
  check: HealthCheck,
): HealthState {
  if (outcome === 'unprobed') return state;
  if (outcome === 'passed') return { phase: 'healthy', failures: 0 };
  if (state.phase === 'starting' && sinceStartMs < check.startGraceMs) return state;
  const failures = state.failures + 1;
  return { phase: failures > check.retries ? 'unhealthy' : state.phase, failures };
}
