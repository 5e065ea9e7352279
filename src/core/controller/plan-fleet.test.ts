import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ObservedInstance } from '../../domain/instance.js';
import {
  ART_NEW,
  ART_OLD,
  fleet,
  instance,
  NEW,
  OLD,
  releaseRecord,
  spec,
  T0,
} from './fixtures.case.js';
import { EMPTY_MEMORY, type ControllerMemory } from './memory.js';
import { planFleet, unmanaged, type FleetPass } from './plan-fleet.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 100) });

const now = T0 + 120_000;
const pass = (over: Partial<FleetPass> = {}): FleetPass => ({
  fleet: fleet(),
  mine: [],
  admitted: new Map([[NEW, true]]),
  releases: new Map(),
  memory: EMPTY_MEMORY,
  now,
  ...over,
});

describe('one fleet’s pass', () => {
  it('starts the new release and keeps what serves, each with the settings it was started with', () => {
    const oldSpec = spec({ env: { V: '1' } });
    const mine = [instance(OLD, 0, now), instance(OLD, 1, now)];
    const decision = planFleet(
      pass({
        fleet: fleet({ spec: spec({ env: { V: '2' } }) }),
        mine,
        releases: new Map([[OLD, releaseRecord(OLD, oldSpec)]]),
      }),
    );
    const started = decision.desired.filter((i) => i.release === NEW);
    expect(started).toHaveLength(1); // maxSurge 25 % of 2 → 1
    expect(started[0]).toMatchObject({ artifact: ART_NEW, env: [['V', '2']] });
    const kept = decision.desired.filter((i) => i.release === OLD);
    expect(kept.map((i) => i.id)).toEqual(mine.map((i) => i.id));
    expect(kept[0]).toMatchObject({ artifact: ART_OLD, env: [['V', '1']] });
  });

  it('gives every instance the fleet’s stop grace now, whatever release it runs', () => {
    const mine = [instance(OLD, 0, now), instance(OLD, 1, now)];
    const decision = planFleet(
      pass({
        fleet: fleet({ spec: spec({ stopGrace: '1s' }) }),
        mine,
        releases: new Map([[OLD, releaseRecord(OLD, spec({ stopGrace: '30s' }))]]),
      }),
    );
    expect(decision.desired.length).toBe(3);
    for (const d of decision.desired) expect(d.stopGraceMs).toBe(1000);
    const none = planFleet(pass({ mine }));
    for (const d of none.desired) expect(d).not.toHaveProperty('stopGraceMs');
  });

  it('tells a host where to pull a registry artifact: by the digest pinned at deploy, not the tag', () => {
    const mine = [instance(OLD, 0, now)];
    const decision = planFleet(
      pass({
        fleet: fleet({ spec: spec({ artifact: '127.0.0.1:5000/team/web:2' }) }),
        mine,
        releases: new Map([
          [OLD, releaseRecord(OLD, spec({ artifact: 'registry.example/web:1' }))],
        ]),
      }),
    );
    const byRelease = new Map(decision.desired.map((d) => [d.release, d.source]));
    expect(byRelease.get(NEW)).toBe(`127.0.0.1:5000/team/web@${ART_NEW}`);
    expect(byRelease.get(OLD)).toBe(`registry.example/web@${ART_OLD}`);
    // A local tag has nowhere to be pulled from: the host's store must have it.
    for (const d of planFleet(pass({ mine })).desired) expect(d).not.toHaveProperty('source');
  });

  it('records a taint and a replacement once, however many passes the instance takes to go', () => {
    const tainted = instance(NEW, 0, now, {
      integrity: 'tainted',
      evidence: [{ detector: 'files', path: '/bin/x', expected: 'a', actual: 'b', time: 't' }],
    });
    const mine = [tainted, instance(NEW, 1, now)];
    // One may be unavailable: the tainted instance can go before its replacement is ready.
    const lenient = fleet({
      rollout: 'complete',
      spec: spec({ strategy: { rolling: { maxUnavailable: 1 } } }),
    });
    const first = planFleet(pass({ fleet: lenient, mine }));
    expect(first.notes.map((n) => n.kind)).toEqual(['taint']);
    expect(first.notes[0]!.summary).toBe(
      `${tainted.id}: files /bin/x: expected a, found b; replacing it`,
    );
    expect(first.events).toEqual([
      expect.objectContaining({ kind: 'instance-replaced', instance: tainted.id }),
    ]);
    const second = planFleet(pass({ fleet: lenient, mine, memory: first.memory, now: now + 500 }));
    expect(second.notes).toEqual([]);
    expect(second.events).toEqual([]);
    // Once it is gone, it is forgotten.
    const gone = planFleet(pass({ mine: [instance(NEW, 1, now)], memory: second.memory }));
    expect(gone.memory.taintNoted).toEqual([]);
    expect(gone.memory.replacementNoted).toEqual([]);
  });

  it('under the meltdown guard starts nothing, but still evicts the tainted and the dead', () => {
    const guarded = spec({
      replicas: 2,
      strategy: { rolling: { maxUnavailable: 1 } },
      meltdown: { maxFailedPercent: 10, window: '60s' },
    });
    const mine: ObservedInstance[] = [
      instance(NEW, 0, now, { state: 'failed' }),
      instance(NEW, 1, now, { integrity: 'tainted', evidence: [] }),
      instance(OLD, 0, now),
    ];
    const decision = planFleet(pass({ fleet: fleet({ spec: guarded }), mine }));
    expect(decision.memory.melting).toBe(true);
    expect(decision.notes.map((n) => n.kind)).toContain('meltdown');
    expect(decision.plan.start).toEqual([]);
    expect(decision.plan.stop.map((s) => s.reason).sort()).toEqual(['gone', 'tainted']);
    expect(decision.plan.reasons.at(-1)).toMatch(/meltdown guard/);
  });

  it('starts nothing of a release whose admission is unknown this pass', () => {
    const decision = planFleet(pass({ admitted: new Map([[NEW, null]]) }));
    expect(decision.plan.start).toEqual([]);
  });

  it('decides the same when asked twice: a pass is a function of what it is given', () => {
    const states = ['pending', 'starting', 'healthy', 'unhealthy', 'failed', 'refused'] as const;
    const arb = fc.array(
      fc.record({
        release: fc.constantFrom(OLD, NEW),
        state: fc.constantFrom(...states),
        tainted: fc.boolean(),
      }),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(arb, (xs) => {
        const mine = xs.map((x, n) =>
          instance(x.release, n, now, {
            state: x.state,
            integrity: x.tainted ? 'tainted' : 'verified',
          }),
        );
        const p = pass({ mine });
        expect(planFleet(p)).toEqual(planFleet(p));
        const memory: ControllerMemory = planFleet(p).memory;
        const ids = new Set(mine.map((i) => i.id));
        for (const id of [...memory.counted, ...memory.taintNoted, ...memory.replacementNoted])
          expect(ids.has(id)).toBe(true);
      }),
    );
  });
});

describe('instances of fleets the store does not know', () => {
  it('are left running, never stopped; dead ones are not kept', () => {
    const stray = { ...instance(OLD, 0, now), fleet: 'gone' };
    const dead = { ...instance(OLD, 1, now, { state: 'failed' }), fleet: 'gone' };
    // Being stopped already: wanted again, it would be started again once stopped.
    const going = { ...instance(OLD, 2, now, { state: 'stopping' }), fleet: 'gone' };
    expect(unmanaged([stray, dead, going, instance(NEW, 0, now)], new Set(['web']))).toEqual([
      { id: stray.id, fleet: 'gone', artifact: stray.artifact, release: OLD },
    ]);
  });
});
