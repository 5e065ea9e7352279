import { describe, expect, it } from 'vitest';
import { NEW, OLD, T0, fleet, instance } from '../controller/fixtures.case.js';
import { observeTraffic } from './observed-share.js';
import type { ServerCounters } from './stat.js';

const counters = (server: string, ok: number, errors = 0, backend = 'be_web'): ServerCounters => ({
  backend,
  server,
  status: 'no check',
  current: 0,
  sessions: ok,
  responses: { '1xx': 0, '2xx': ok, '3xx': 0, '4xx': 0, '5xx': errors, other: 0 },
  connectionErrors: 0,
  responseErrors: 0,
  retries: 0,
  redispatches: 0,
});

const f = fleet({ step: 0 });
const mine = [instance(NEW, 0, T0), instance(OLD, 0, T0), instance(OLD, 1, T0)];
const [n0, o0, o1] = mine.map((i) => i.id) as [string, string, string];

describe('the traffic a fleet answered since its step began', () => {
  it('counts from the step, by release; the preview counts for analysis, not for the share', () => {
    const first = observeTraffic(f, mine, [counters(o0, 500), counters(o1, 500)], undefined);
    expect(first.traffic).toEqual({ requests: 0, newShare: null, newErrors: 0, newRequests: 0 });
    const later = observeTraffic(
      f,
      mine,
      [
        counters(o0, 545),
        counters(o1, 545),
        counters(n0, 10, 2),
        counters(n0, 99, 0, 'be_web_preview'),
        counters('api-1', 99, 0, 'be_api'),
      ],
      first.baseline,
    );
    // The 5xx answers are answers: 12 of the live 102 came from the new release, 2 of them
    // errors; its preview answered 99 more. Other fleets count for nothing.
    expect(later.traffic).toEqual({
      requests: 102,
      newShare: (100 * 12) / 102,
      newErrors: 2,
      newRequests: 111,
    });
  });

  it('starts again at a new step, and when counters went back (a new worker)', () => {
    const base = observeTraffic(f, mine, [counters(o0, 100)], undefined).baseline;
    const nextStep = observeTraffic(fleet({ step: 1 }), mine, [counters(o0, 150)], base);
    expect(nextStep.traffic.requests).toBe(0);
    expect(nextStep.baseline.key).not.toBe(base.key);
    const reset = observeTraffic(f, mine, [counters(o0, 3)], base);
    expect(reset.traffic.requests).toBe(0);
    expect(reset.baseline.counted.get(`live/${o0}`)?.answered).toBe(3);
  });
});
