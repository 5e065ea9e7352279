import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleetSchema, type FleetSpec } from '../fleet/spec.js';
import { rolloutShape, stepCount } from '../planner/strategy.js';
import {
  decideCapacity,
  fleetDemand,
  hostLimits,
  peakInstances,
  subnetAddresses,
  within,
  type HostCapacity,
} from './host-capacity.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 200) });

const MIB = 1024 * 1024;

const strategy = fc.oneof(
  fc.record({
    rolling: fc.record({
      maxSurge: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constantFrom('0%', '25%', '100%')),
      maxUnavailable: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom('0%', '50%')),
    }),
  }),
  fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }).map((sizes) => ({
    canary: { steps: [...sizes].sort((a, b) => a - b).map((instances) => ({ instances })) },
  })),
  fc.record({
    blueGreen: fc.record({
      previewReplicas: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
      autoPromote: fc.boolean(),
    }),
  }),
);

const resources = fc.record(
  {
    memory: fc.integer({ min: 1, max: 4096 }).map((m) => m * MIB),
    cpus: fc.integer({ min: 1, max: 40 }).map((c) => c / 10),
    pids: fc.integer({ min: 1, max: 4096 }),
  },
  { requiredKeys: [] },
);

const fleet = (name: string) =>
  fc
    .record({ replicas: fc.integer({ min: 0, max: 10_000 }), strategy, resources })
    .map((f) => fleetSchema.safeParse({ name, artifact: 'x', ...f }))
    .filter((r) => r.success)
    .map((r) => r.data);

const host: fc.Arbitrary<HostCapacity> = fc.record({
  addresses: fc.integer({ min: 0, max: 65_533 }),
  maxInstances: fc.integer({ min: 0, max: 1000 }),
  memoryBytes: fc.integer({ min: 0, max: 64 * 1024 }).map((m) => m * MIB),
  cpus: fc.integer({ min: 1, max: 64 }),
  pids: fc.integer({ min: 0, max: 4_194_304 }),
});

const others = fc.array(fleet('other'), { maxLength: 4 });
const withReplicas = (spec: FleetSpec, replicas: number): FleetSpec | null => {
  const r = fleetSchema.safeParse({ ...spec, replicas });
  return r.success ? r.data : null;
};

describe('what a host takes', () => {
  it('counts every instance a rollout can run at once (the planner bounds it by replicas + surge)', () => {
    fc.assert(
      fc.property(fleet('web'), (spec) => {
        const peak = peakInstances(spec);
        if (spec.replicas === 0) return peak === 0;
        for (let step = 0; step <= stepCount(spec); step++)
          for (const base of [null, 'old']) {
            const shape = rolloutShape(spec, { release: 'new', base, progressing: true, step });
            expect(spec.replicas + shape.maxSurge).toBeLessThanOrEqual(peak);
            const wanted = shape.releases.reduce((n, r) => n + r.count, 0);
            expect(wanted).toBeLessThanOrEqual(peak);
          }
        return peak >= spec.replicas;
      }),
    );
  });

  it('lets a deploy that asks for no more than the fleet has through, however full the host', () => {
    fc.assert(
      fc.property(host, others, fleet('web'), fc.nat(), (h, rest, current, cut) => {
        const smaller = withReplicas(current, current.replicas - (cut % (current.replicas + 1)));
        if (!smaller) return;
        expect(decideCapacity(h, rest, smaller, current).ok).toBe(true);
        const none = withReplicas(current, 0)!;
        expect(decideCapacity(h, rest, none, current).ok).toBe(true);
        expect(decideCapacity(h, rest, none, null).ok).toBe(true);
      }),
    );
  });

  it('accepts a growth only if everything fits, and refuses with a reason otherwise', () => {
    fc.assert(
      fc.property(
        host,
        others,
        fleet('web'),
        fc.option(fleet('web'), { nil: null }),
        (h, rest, incoming, current) => {
          const decision = decideCapacity(h, rest, incoming, current);
          const total = [...rest, incoming].map(fleetDemand).reduce((a, d) => ({
            instances: a.instances + d.instances,
            memoryBytes: a.memoryBytes + d.memoryBytes,
            cpus: a.cpus + d.cpus,
            pids: a.pids + d.pids,
          }));
          // No more than the fleet has now (nothing, for a new one): always let through.
          const now = current ? fleetDemand(current) : fleetDemand({ ...incoming, replicas: 0 });
          const shrink = within(fleetDemand(incoming), now);
          const fits = within(total, hostLimits(h));
          expect(decision.ok).toBe(shrink || fits);
          if (!decision.ok) expect(decision.reasons.length).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('never refuses fewer replicas where it accepted more (monotonic)', () => {
    fc.assert(
      fc.property(host, others, fleet('web'), fc.nat(), (h, rest, spec, cut) => {
        const fewer = withReplicas(spec, spec.replicas - (cut % (spec.replicas + 1)));
        if (!fewer || !decideCapacity(h, rest, spec, null).ok) return;
        expect(decideCapacity(h, rest, fewer, null).ok).toBe(true);
      }),
    );
  });

  it('refuses 10,000 replicas on a /24 with the numbers that do not fit', () => {
    const spec = fleetSchema.parse({ name: 'big', artifact: 'x', replicas: 10_000 });
    const decision = decideCapacity(
      { addresses: 253, maxInstances: 250, memoryBytes: 24 * 1024 * MIB, cpus: 2, pids: 4_194_304 },
      [],
      spec,
      null,
    );
    expect(decision.ok).toBe(false);
    expect(decision.ok ? [] : decision.reasons).toEqual([
      expect.stringMatching(/needs up to 12500 instances .* takes at most 250 \(253 addresses/),
    ]);
  });

  it('counts the addresses host-local hands out in a subnet', () => {
    expect(subnetAddresses('10.88.0.0/24')).toBe(253);
    expect(subnetAddresses('10.0.0.0/16')).toBe(65_533);
    expect(subnetAddresses('10.0.0.0/30')).toBe(1);
    expect(subnetAddresses('10.0.0.0/31')).toBe(0);
    expect(subnetAddresses('10.0.0.0/33')).toBe(0);
    expect(subnetAddresses('10.0.0.300/24')).toBe(0);
    expect(subnetAddresses('fd00::/64')).toBe(0);
  });
});
