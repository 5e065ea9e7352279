import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FleetView } from '../api/fleets.js';
import { parseFleet } from '../fleet/spec.js';
import { uiFleet } from './fleet-view.js';

const NEW = `sha256:${'1'.repeat(64)}` as FleetView['release'];
const OLD = `sha256:${'2'.repeat(64)}` as FleetView['release'];

function view(strategy: string, replicas: number, at: Partial<FleetView>): FleetView {
  return {
    name: 'web',
    spec: parseFleet(
      `name: web\nartifact: hello:1.0.0\nreplicas: ${replicas}\nstrategy: ${strategy}\n`,
      'fleet.yaml',
    ),
    release: NEW,
    artifact: NEW,
    previous: OLD,
    rollout: 'progressing',
    rolloutStartedAt: '1970-01-01T00:00:00.000Z',
    reason: null,
    stable: OLD,
    step: 0,
    stepStartedAt: '1970-01-01T00:00:01.000Z',
    stepReadyAt: null,
    pausedAt: null,
    version: 1,
    phase: '',
    awaitingPromotion: false,
    reasons: [],
    instances: [],
    ...at,
  };
}

describe('the dashboard view of a fleet', () => {
  it('gives a canary step its weights, its pause end, and Promote', () => {
    const canary = '{ canary: { steps: [{ instances: 1, pause: 30s }, { percent: 50 }] } }';
    const ready = uiFleet(view(canary, 4, { stepReadyAt: '1970-01-01T00:00:05.000Z' }));
    expect(ready.weights).toEqual([
      { release: NEW, count: 1, percent: 25 },
      { release: OLD, count: 3, percent: 75 },
    ]);
    expect(ready.stepCount).toBe(2);
    expect(ready.promotable).toBe(true);
    expect(ready.pauseEndsAt).toBe(35_000);
    // Paused by hand: the pause stops counting, no end to show.
    expect(
      uiFleet(
        view(canary, 4, {
          stepReadyAt: '1970-01-01T00:00:05.000Z',
          pausedAt: '1970-01-01T00:00:09.000Z',
        }),
      ).pauseEndsAt,
    ).toBeNull();
    // Not ready yet: no pause is running.
    expect(uiFleet(view(canary, 4, {})).pauseEndsAt).toBeNull();
    // Complete, or at the final shape: nothing to promote, one release.
    const done = uiFleet(view(canary, 4, { rollout: 'complete', step: 2 }));
    expect([done.promotable, done.pauseEndsAt, done.weights.length]).toEqual([false, null, 1]);
  });

  it('waits for Promote on a blue-green preview, with no pause to count down', () => {
    const preview = uiFleet(
      view('{ blueGreen: { previewReplicas: 1 } }', 3, { stepReadyAt: '1970-01-01T00:00:00.001Z' }),
    );
    expect(preview.promotable).toBe(true);
    expect(preview.pauseEndsAt).toBeNull();
  });

  it('never promotes a rolling fleet, and its weights always add up to the replicas', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.constantFrom('progressing', 'complete', 'rolled-back') as fc.Arbitrary<
          FleetView['rollout']
        >,
        fc.integer({ min: 1, max: 100 }),
        (replicas, rollout, percent) => {
          const rolling = uiFleet(view('{ rolling: {} }', replicas, { rollout }));
          expect(rolling.promotable).toBe(false);
          const canary = uiFleet(
            view(`{ canary: { steps: [{ percent: ${percent} }] } }`, replicas, { rollout }),
          );
          const total = canary.weights.reduce((n, w) => n + w.count, 0);
          expect(total).toBe(replicas);
          const percents = canary.weights.reduce((n, w) => n + w.percent, 0);
          expect(Math.abs(percents - 100)).toBeLessThanOrEqual(1);
          expect(canary.promotable).toBe(rollout === 'progressing');
        },
      ),
    );
  });
});
