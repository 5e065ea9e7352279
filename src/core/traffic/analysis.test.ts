import { describe, expect, it } from 'vitest';
import { fleet, spec } from '../controller/fixtures.case.js';
import { analysisFailure } from './analysis.js';

const SERVICE = { port: 8080, listen: '127.0.0.1:18080' };
const judged = fleet({
  spec: spec({ service: SERVICE, analysis: { maxErrorPercent: 1, minRequests: 100 } }),
});
const traffic = (newRequests: number, newErrors: number) => ({
  requests: newRequests * 2,
  newShare: 50,
  newErrors,
  newRequests,
});

describe("a release's analysis through the edge", () => {
  it('fails over the error percent, once it has had its requests, and says the figures', () => {
    expect(analysisFailure(judged, traffic(200, 3))).toBe(
      'analysis: 1.5% of 200 requests to the new release failed (5xx or no connection; at most 1% allowed)',
    );
    expect(analysisFailure(judged, traffic(200, 2))).toBeNull(); // 1.0 %: at the bound
    expect(analysisFailure(judged, traffic(99, 99))).toBeNull(); // too few yet
  });

  it('judges only a rollout in progress of a fleet that asks for it', () => {
    expect(analysisFailure({ ...judged, rollout: 'complete' }, traffic(200, 100))).toBeNull();
    expect(
      analysisFailure(fleet({ spec: spec({ service: SERVICE }) }), traffic(200, 100)),
    ).toBeNull();
    expect(analysisFailure(judged, undefined)).toBeNull();
  });

  it('is refused in fleet.yaml without a service', () => {
    expect(() => spec({ analysis: { maxErrorPercent: 1 } })).toThrow(/give the fleet a service/);
    expect(spec({ service: SERVICE, analysis: { maxErrorPercent: 5 } }).analysis).toEqual({
      maxErrorPercent: 5,
      minRequests: 100,
    });
  });
});
