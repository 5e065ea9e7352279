import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FleetTarget, Plan, PlannedInstanceView } from '../../domain/fleet.js';
import { isReady, plan } from './plan.js';

const NOW = 1_000_000;
const NEW = 'sha256:' + 'b'.repeat(64);
const OLD = 'sha256:' + 'a'.repeat(64);

const OLDER = 'sha256:' + 'c'.repeat(64);

/**
 * Targets as the strategies make them: one release for all replicas (rolling), a canary
 * split of the replicas between the new and the old release, or a blue-green preview that
 * runs a preview of the new release beside all of the old one.
 */
const target: fc.Arbitrary<FleetTarget> = fc
  .record({
    replicas: fc.integer({ min: 0, max: 6 }),
    maxSurge: fc.integer({ min: 0, max: 3 }),
    maxUnavailable: fc.integer({ min: 0, max: 3 }),
    minReadyMs: fc.constantFrom(0, 500),
    maxInstanceAgeMs: fc.option(fc.constantFrom(10_000, 100_000), { nil: null }),
    admitted: fc.boolean(),
    oldAdmitted: fc.boolean(),
    // Its starts fail and wait out a back-off (or its rollout failed).
    held: fc.boolean(),
    shape: fc.constantFrom('rolling', 'canary', 'preview'),
    part: fc.integer({ min: 0, max: 6 }),
  })
  .filter((t) => t.maxSurge + t.maxUnavailable > 0)
  .map(({ shape, part, admitted, oldAdmitted, held, ...t }) => {
    const k = Math.min(part, t.replicas);
    const hold = held ? { held: 'its starts fail: next attempt in 4 s' } : {};
    const releases =
      shape === 'rolling'
        ? [{ release: NEW, count: t.replicas, admitted, ...hold }]
        : shape === 'canary'
          ? [
              { release: NEW, count: k, admitted, ...hold },
              { release: OLD, count: t.replicas - k, admitted: oldAdmitted },
            ]
          : [
              { release: NEW, count: Math.min(k, t.maxSurge), admitted, ...hold },
              { release: OLD, count: t.replicas, admitted: oldAdmitted },
            ];
    return { fleet: 'web', releases, ...t };
  });

const allAdmitted = (t: FleetTarget) => t.releases.every((r) => r.admitted && r.held === undefined);

const instance = (n: number): fc.Arbitrary<PlannedInstanceView> =>
  fc
    .record({
      release: fc.constantFrom(NEW, OLD, OLDER),
      state: fc.constantFrom(
        'pending',
        'starting',
        'healthy',
        'healthy',
        'unhealthy',
        'failed',
        'refused',
        'stopping',
      ),
      age: fc.integer({ min: 0, max: 200_000 }),
      healthyFor: fc.integer({ min: 0, max: 2000 }),
      tainted: fc.boolean(),
    })
    .map((o) => ({
      id: `i-${n}`,
      release: o.release,
      state: o.state,
      startedAt: NOW - o.age,
      healthySince: o.state === 'healthy' ? NOW - o.healthyFor : null,
      tainted: o.tainted && o.state !== 'failed',
    }));

const fleet = fc
  .integer({ min: 0, max: 8 })
  .chain((k) => fc.tuple(...Array.from({ length: k }, (_, n) => instance(n))));

/** The world after a plan: stops gone, starts pending. */
function applyPlan(
  observed: readonly PlannedInstanceView[],
  p: Plan,
  now: number,
): PlannedInstanceView[] {
  const stopping = new Set(p.stop.map((s) => s.id));
  return [
    ...observed.filter((i) => !stopping.has(i.id)),
    ...p.start.map((s) => ({
      id: s.id,
      release: s.release,
      state: 'pending' as const,
      startedAt: now,
      healthySince: null,
      tainted: false,
    })),
  ];
}

/**
 * The world after a plan as an agent makes it: what it stops stays, "stopping", for as long
 * as its grace lasts (a program that ignores SIGTERM takes all of it); starts pending.
 */
function applyPlanTerminating(
  observed: readonly PlannedInstanceView[],
  p: Plan,
  now: number,
): PlannedInstanceView[] {
  const stopping = new Set(p.stop.map((s) => s.id));
  const gone = applyPlan(observed, p, now);
  return [
    ...gone,
    ...observed
      .filter((i) => stopping.has(i.id))
      .map((i) => ({ ...i, state: 'stopping' as const, healthySince: null })),
  ];
}

/** Instances being stopped, named apart from `fleet`'s. */
const terminating = fc
  .array(fc.record({ release: fc.constantFrom(NEW, OLD, OLDER), tainted: fc.boolean() }), {
    maxLength: 6,
  })
  .map((xs) =>
    xs.map((x, n): PlannedInstanceView => ({
      id: `t-${n}`,
      release: x.release,
      state: 'stopping',
      startedAt: 0,
      healthySince: null,
      tainted: x.tainted,
    })),
  );

const live = (xs: readonly PlannedInstanceView[]) =>
  xs.filter((i) => ['pending', 'starting', 'healthy', 'unhealthy'].includes(i.state));

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 100) });

/** A two-replica fleet whose two instances run the old release, ready. */
function twoOfOld(o: { admitted: boolean; maxUnavailable: number }): FleetTarget {
  return {
    fleet: 'web',
    releases: [{ release: NEW, count: 2, admitted: o.admitted }],
    replicas: 2,
    maxSurge: 1,
    minReadyMs: 0,
    maxInstanceAgeMs: null,
    maxUnavailable: o.maxUnavailable,
  };
}

function oldPair(tainted: (n: number) => boolean): PlannedInstanceView[] {
  return [0, 1].map((n) => ({
    id: `old-${n}`,
    release: OLD,
    state: 'healthy' as const,
    startedAt: 0,
    healthySince: 0,
    tainted: tainted(n),
  }));
}

describe('the rolling planner', () => {
  it('never drops ready instances below replicas - maxUnavailable, nor goes above replicas + maxSurge', () => {
    fc.assert(
      fc.property(target, fleet, (t, observed) => {
        const p = plan(t, observed, NOW);
        const after = applyPlan(observed, p, NOW);
        const readyBefore = observed.filter((i) => isReady(i, t, NOW)).length;
        const readyAfter = after.filter((i) => isReady(i, t, NOW)).length;
        expect(readyAfter).toBeGreaterThanOrEqual(
          Math.min(readyBefore, t.replicas - t.maxUnavailable),
        );
        if (p.start.length > 0)
          expect(live(after).length).toBeLessThanOrEqual(t.replicas + t.maxSurge);
        for (const r of t.releases)
          if (!r.admitted || r.held !== undefined)
            expect(p.start.filter((s) => s.release === r.release)).toEqual([]);
        // Names are new and unique; every observed instance is kept or stopped, once.
        const ids = p.start.map((s) => s.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of ids) expect(observed.some((i) => i.id === id)).toBe(false);
        const decided = [...p.keep, ...p.stop.map((s) => s.id)].sort();
        expect(decided).toEqual(observed.map((i) => i.id).sort());
      }),
    );
  });

  it('with stops that take their grace: never below the floor, never above the ceiling without the terminating', () => {
    fc.assert(
      fc.property(target, fleet, (t, observed) => {
        let world: PlannedInstanceView[] = [...observed];
        // Three passes while nothing stopped has ended yet (every stop takes its whole grace).
        for (let pass = 0; pass < 3; pass++) {
          const readyBefore = world.filter((i) => isReady(i, t, NOW)).length;
          const p = plan(t, world, NOW);
          world = applyPlanTerminating(world, p, NOW);
          const readyAfter = world.filter((i) => isReady(i, t, NOW)).length;
          expect(readyAfter).toBeGreaterThanOrEqual(
            Math.min(readyBefore, t.replicas - t.maxUnavailable),
          );
          if (p.start.length > 0)
            expect(live(world).length).toBeLessThanOrEqual(t.replicas + t.maxSurge);
          // An id is never named again while an instance of that name is still there.
          const ids = world.map((i) => i.id);
          expect(new Set(ids).size).toBe(ids.length);
        }
      }),
    );
  });

  it('terminating instances never block a start that fits the ceiling without them', () => {
    fc.assert(
      fc.property(target, fleet, terminating, (t, observed, going) => {
        const without = plan(t, observed, NOW);
        const withThem = plan(t, [...observed, ...going], NOW);
        const count = (p: Plan, r: string) => p.start.filter((s) => s.release === r).length;
        for (const r of t.releases)
          expect(count(withThem, r.release)).toBe(count(without, r.release));
        expect(withThem.stop.filter((s) => !s.id.startsWith('t-'))).toEqual(without.stop);
        // They are going already: nothing keeps them, and their names are not taken again.
        for (const g of going) {
          expect(withThem.keep).not.toContain(g.id);
          expect(withThem.start.map((s) => s.id)).not.toContain(g.id);
        }
      }),
    );
  });

  it('is idempotent: planning again after applying gives nothing more to do', () => {
    fc.assert(
      fc.property(target, fleet, (t, observed) => {
        const after = applyPlan(observed, plan(t, observed, NOW), NOW);
        const again = plan(t, after, NOW);
        expect(again.start).toEqual([]);
        expect(again.stop).toEqual([]);
      }),
    );
  });

  it('converges: tainted, unhealthy, old and aged instances are all replaced, and every release runs exactly its share', () => {
    fc.assert(
      fc.property(target.filter(allAdmitted), fleet, (t, observed) => {
        let world = observed;
        let now = NOW;
        // 60 steps a second apart, then 10 more at the same moment, so that a repave that
        // is under way when the clock stops can finish.
        for (let step = 0; step < 70; step++) {
          const p = plan(t, world, now);
          world = applyPlan(world, p, now);
          if (step < 60) now += 1000;
          // Whatever was started is healthy by the next step.
          world = world.map((i) =>
            i.state === 'pending' || i.state === 'starting'
              ? { ...i, state: 'healthy' as const, healthySince: now - 1000 }
              : i,
          );
        }
        for (const r of t.releases)
          expect(world.filter((i) => i.release === r.release).length).toBe(r.count);
        expect(world.length).toBe(t.releases.reduce((n, r) => n + r.count, 0));
        for (const i of world) {
          expect(i.tainted).toBe(false);
          expect(i.state).toBe('healthy');
          if (t.maxInstanceAgeMs !== null)
            expect(now - i.startedAt!).toBeLessThan(t.maxInstanceAgeMs + 60_000);
        }
      }),
    );
  });

  it('never stops an instance held by a break-glass session, but replaces it', () => {
    fc.assert(
      fc.property(target, fleet, fc.nat(), (t, observed, k) => {
        const held = observed.map((i, n) =>
          n === k % Math.max(1, observed.length) ? { ...i, held: true, tainted: true } : i,
        );
        const p = plan(t, held, NOW);
        for (const i of held)
          if (i.held === true && live([i]).length === 1)
            expect(p.stop.map((s) => s.id)).not.toContain(i.id);
      }),
    );
  });

  it('keeps the old release serving when the new one is refused', () => {
    const t = twoOfOld({ admitted: false, maxUnavailable: 1 });
    const old = oldPair(() => false);
    const p = plan(t, old, NOW);
    expect(p).toMatchObject({ start: [], stop: [], keep: ['old-0', 'old-1'] });
    expect(p.reasons).toEqual([
      'release bbbbbbbbbbbb is refused by admission: nothing of it is started',
    ]);
  });

  it('creates before it destroys by default (maxUnavailable 0)', () => {
    const t = twoOfOld({ admitted: true, maxUnavailable: 0 });
    const old = oldPair((n) => n === 1);
    const p = plan(t, old, NOW);
    expect(p.stop).toEqual([]);
    expect(p.start).toEqual([{ id: 'web-bbbbbbbb-0', release: NEW }]);
  });
});
