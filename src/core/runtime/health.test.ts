import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HealthCheck } from '../../domain/baseline.js';
import { INITIAL_HEALTH, nextHealth, type HealthState, type ProbeOutcome } from './health.js';

const check: HealthCheck = {
  probe: { kind: 'tcp', port: 1 },
  intervalMs: 1000,
  timeoutMs: 500,
  retries: 2,
  startGraceMs: 3000,
};

describe('nextHealth', () => {
  it('ignores failures in the start grace, then allows `retries` of them', () => {
    let s: HealthState = INITIAL_HEALTH;
    s = nextHealth(s, 'failed', 1000, check);
    expect(s).toEqual(INITIAL_HEALTH);
    s = nextHealth(s, 'failed', 4000, check);
    s = nextHealth(s, 'failed', 5000, check);
    expect(s.phase).toBe('starting');
    s = nextHealth(s, 'failed', 6000, check);
    expect(s).toEqual({ phase: 'unhealthy', failures: 3 });
    expect(nextHealth(s, 'passed', 7000, check)).toEqual({ phase: 'healthy', failures: 0 });
  });

  it('never counts a probe the agent could not make (issue 15: EMFILE replaced a fleet)', () => {
    let s = nextHealth(INITIAL_HEALTH, 'passed', 0, check);
    s = nextHealth(s, 'failed', 4000, check);
    for (let t = 5000; t < 100_000; t += 1000) s = nextHealth(s, 'unprobed', t, check);
    expect(s).toEqual({ phase: 'healthy', failures: 1 });
  });

  it('is unhealthy exactly after more than `retries` consecutive counted failures', () => {
    const outcomes = fc.constantFrom<ProbeOutcome>('passed', 'failed', 'unprobed');
    fc.assert(
      fc.property(fc.array(outcomes, { maxLength: 30 }), fc.nat(5), (results, retries) => {
        const c = { ...check, retries, startGraceMs: 0 };
        let s: HealthState = INITIAL_HEALTH;
        let run = 0;
        for (const outcome of results) {
          const before = s;
          s = nextHealth(s, outcome, 10_000, c);
          if (outcome === 'unprobed') {
            expect(s).toBe(before);
            continue;
          }
          run = outcome === 'passed' ? 0 : run + 1;
          expect(s.failures).toBe(run);
          if (outcome === 'passed') expect(s.phase).toBe('healthy');
          if (run > retries) expect(s.phase).toBe('unhealthy');
        }
      }),
    );
  });
});
