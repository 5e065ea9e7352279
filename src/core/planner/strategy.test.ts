import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PlannedInstanceView } from '../../domain/fleet.js';
import { fleetSchema, type FleetSpec } from '../fleet/spec.js';
import { isReady, plan } from './plan.js';
import {
  canaryCounts,
  decideStep,
  rolloutShape,
  shapeReached,
  stepCount,
  type RolloutShape,
} from './strategy.js';

const NEW = 'sha256:' + 'b'.repeat(64);
const OLD = 'sha256:' + 'a'.repeat(64);
const T0 = 1_000_000;

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 100) });

const spec = (strategy: unknown, replicas: number): FleetSpec =>
  fleetSchema.parse({ name: 'web', artifact: 'x', replicas, strategy });

const canarySpec = fc
  .record({
    replicas: fc.integer({ min: 1, max: 6 }),
    steps: fc.array(
      fc.record({
        size: fc.integer({ min: 1, max: 7 }),
        percent: fc.boolean(),
        pause: fc.constantFrom(0, 2, 5),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  })
  .map(({ replicas, steps }) => {
    let floor = 0; // sizes made non-decreasing; the schema refuses the rest
    const out = steps.map((s) => {
      const n = Math.max(s.size, floor);
      floor = n;
      return s.percent
        ? { percent: Math.min(100, Math.ceil((n * 100) / replicas)), pause: s.pause }
        : { instances: n, pause: s.pause };
    });
    return fleetSchema.safeParse({
      name: 'web',
      artifact: 'x',
      replicas,
      strategy: { canary: { steps: out } },
    });
  })
  .filter((r) => r.success)
  .map((r) => r.data);

const blueGreenSpec = fc
  .record({
    replicas: fc.integer({ min: 1, max: 6 }),
    preview: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    autoPromote: fc.boolean(),
  })
  .map(({ replicas, preview, autoPromote }) =>
    spec(
      { blueGreen: { autoPromote, ...(preview !== undefined && { previewReplicas: preview }) } },
      replicas,
    ),
  );

interface World {
  instances: PlannedInstanceView[];
  step: number;
  readyAt: number | null;
  complete: boolean;
}

/**
 * One observation of the controller's loop, in miniature: decide the step, plan, apply; what
 * was started is healthy by the next observation. Returns the shape that was planned.
 */
function pass(s: FleetSpec, w: World, now: number): RolloutShape {
  const targetOf = (shape: RolloutShape) => ({
    fleet: 'web',
    releases: shape.releases.map((r) => ({ ...r, admitted: true })),
    replicas: s.replicas,
    maxSurge: shape.maxSurge,
    maxUnavailable: shape.maxUnavailable,
    minReadyMs: 0,
    maxInstanceAgeMs: null,
  });
  const shapeNow = () =>
    rolloutShape(s, { release: NEW, base: OLD, progressing: !w.complete, step: w.step });
  // Judged first, then planned with the fleet as the judgement left it, as the controller does.
  const judged = shapeNow();
  const reached = shapeReached(
    judged,
    w.instances.map((i) => ({ release: i.release, ready: isReady(i, targetOf(judged), now) })),
  );
  const d = decideStep(judged, reached, w.readyAt, now);
  if (d.kind === 'complete') w.complete = true;
  if (d.kind === 'reached') w.readyAt = now;
  if (d.kind === 'advance') {
    w.step++;
    w.readyAt = null;
  }
  const shape = shapeNow();
  const p = plan(targetOf(shape), w.instances, now);
  const stopping = new Set(p.stop.map((x) => x.id));
  w.instances = [
    ...w.instances.filter((i) => !stopping.has(i.id)),
    ...p.start.map((x) => ({
      id: x.id,
      release: x.release,
      state: 'pending' as const,
      startedAt: now,
      healthySince: null,
      tainted: false,
    })),
  ];
  return shape;
}

const healthyNext = (w: World, now: number) => {
  w.instances = w.instances.map((i) =>
    i.state === 'pending' ? { ...i, state: 'healthy' as const, healthySince: now } : i,
  );
};

const oldFleet = (replicas: number): World => ({
  instances: Array.from({ length: replicas }, (_, n) => ({
    id: `old-${n}`,
    release: OLD,
    state: 'healthy' as const,
    startedAt: 0,
    healthySince: 0,
    tainted: false,
  })),
  step: 0,
  readyAt: null,
  complete: false,
});

const count = (w: World, release: string) =>
  w.instances.filter((i) => i.release === release).length;

describe('canary', () => {
  it('never runs more of the new release than its step allows, keeps every replica serving, holds each pause, and completes', () => {
    fc.assert(
      fc.property(canarySpec, (s) => {
        const counts = canaryCounts(s);
        const pauses = 'canary' in s.strategy ? s.strategy.canary.steps.map((x) => x.pause) : [];
        const w = oldFleet(s.replicas);
        const held = new Map<number, number>(); // step → observations at its full size
        let now = T0;
        for (let n = 0; n < 200 && !w.complete; n++, now += 1000) {
          const shape = pass(s, w, now);
          const allowed = w.step < counts.length ? counts[w.step]! : s.replicas;
          expect(count(w, NEW)).toBeLessThanOrEqual(allowed);
          expect(w.instances.length).toBeLessThanOrEqual(s.replicas + shape.maxSurge);
          const ready = w.instances.filter((i) => i.state === 'healthy').length;
          expect(ready).toBeGreaterThanOrEqual(s.replicas - shape.maxUnavailable);
          if (w.readyAt !== null) held.set(w.step, (held.get(w.step) ?? 0) + 1);
          healthyNext(w, now);
        }
        expect(w.complete).toBe(true);
        expect(count(w, NEW)).toBe(s.replicas);
        expect(count(w, OLD)).toBe(0);
        // A step with a pause was held that long (one observation a second).
        pauses.forEach((p, step) => {
          if (p !== undefined && p > 0 && counts[step]! < s.replicas)
            expect(held.get(step) ?? 0).toBeGreaterThanOrEqual(p / 1000);
        });
      }),
    );
  });

  it('counts percentages against replicas, rounding up', () => {
    const s = spec({ canary: { steps: [{ percent: 10 }, { percent: 50 }, { instances: 9 }] } }, 4);
    expect(canaryCounts(s)).toEqual([1, 2, 4]);
    expect(stepCount(s)).toBe(3);
  });

  it('splits only a progressing rollout with something to replace', () => {
    const s = spec({ canary: { steps: [{ instances: 1 }] } }, 3);
    const at = { release: NEW, base: OLD, progressing: true, step: 0 };
    expect(rolloutShape(s, at).releases).toEqual([
      { release: NEW, count: 1 },
      { release: OLD, count: 2 },
    ]);
    for (const other of [
      { ...at, base: null }, // first deploy
      { ...at, progressing: false }, // complete, or rolled back: straight back
      { ...at, step: 1 }, // past the last step
    ])
      expect(rolloutShape(s, other)).toMatchObject({
        releases: [{ release: NEW, count: 3 }],
        final: true,
      });
  });
});

describe('blue-green', () => {
  it('keeps the whole old release serving beside the preview until promoted, then replaces it', () => {
    fc.assert(
      fc.property(blueGreenSpec, (s) => {
        const w = oldFleet(s.replicas);
        let now = T0;
        let waited = 0;
        for (let n = 0; n < 100 && !w.complete; n++, now += 1000) {
          const shape = pass(s, w, now);
          if (w.step === 0) {
            // Before promotion nothing of the old release is touched.
            expect(count(w, OLD)).toBe(s.replicas);
            expect(count(w, NEW)).toBeLessThanOrEqual(shape.releases[0]!.count);
          }
          const ready = w.instances.filter((i) => i.state === 'healthy').length;
          expect(ready).toBeGreaterThanOrEqual(s.replicas);
          if (decideStep(shape, false, w.readyAt, now).kind === 'awaiting-promotion') {
            waited++;
            if (waited === 3) w.step = 1; // ingot promote
          }
          healthyNext(w, now);
        }
        const auto = 'blueGreen' in s.strategy && s.strategy.blueGreen.autoPromote;
        expect(waited > 0).toBe(!auto);
        expect(w.complete).toBe(true);
        expect(count(w, NEW)).toBe(s.replicas);
        expect(count(w, OLD)).toBe(0);
      }),
    );
  });
});

describe('decideStep', () => {
  const shape = (o: Partial<RolloutShape>): RolloutShape => ({
    releases: [],
    maxSurge: 1,
    maxUnavailable: 0,
    final: false,
    pauseMs: 1000,
    label: '',
    ...o,
  });
  it('holds a reached step for its pause, and a preview until promoted', () => {
    expect(decideStep(shape({}), false, null, T0).kind).toBe('under-way');
    expect(decideStep(shape({}), true, null, T0).kind).toBe('reached');
    expect(decideStep(shape({}), true, T0, T0 + 999)).toEqual({ kind: 'paused', remainingMs: 1 });
    expect(decideStep(shape({}), true, T0, T0 + 1000).kind).toBe('advance');
    expect(decideStep(shape({ pauseMs: null }), true, T0, T0 + 1e9).kind).toBe(
      'awaiting-promotion',
    );
    expect(decideStep(shape({ final: true }), true, null, T0).kind).toBe('complete');
    expect(decideStep(shape({ final: true }), false, null, T0).kind).toBe('under-way');
  });
});
