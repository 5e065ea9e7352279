import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HealthCheck } from '../../domain/baseline.js';
import { INITIAL_HEALTH, nextHealth, type HealthState } from './health.js';

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
    s = nextHealth(s, false, 1000, check);
    expect(s).toEqual(INITIAL_HEALTH);
    s = nextHealth(s, false, 4000, check);
    s = nextHealth(s, false, 5000, check);
    expect(s.phase).toBe('starting');
    s = nextHealth(s, false, 6000, check);
    expect(s).toEqual({ phase: 'unhealthy', failures: 3 });
    expect(nextHealth(s, true, 7000, check)).toEqual({ phase: 'healthy', failures: 0 });
  });

  it('is unhealthy exactly after more than `retries` consecutive counted failures', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 30 }), fc.nat(5), (results, retries) => {
        const c = { ...check, retries, startGraceMs: 0 };
        let s: HealthState = INITIAL_HEALTH;
        let run = 0;
        for (const passed of results) {
          s = nextHealth(s, passed, 10_000, c);
          run = passed ? 0 : run + 1;
          expect(s.failures).toBe(run);
          if (passed) expect(s.phase).toBe('healthy');
          if (run > retries) expect(s.phase).toBe('unhealthy');
        }
      }),
    );
  });
});
