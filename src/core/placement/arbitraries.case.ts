import fc from 'fast-check';
import { parseConstraints } from './constraint.js';
import type {
  HostState,
  PlacementHost,
  PlacementInput,
  PlacementInstance,
  PlacementRules,
} from './types.js';

/** Shared by the placement tests: hosts, fleets and instances small enough to reason about. */

export const MIB = 2 ** 20;
export const GIB = 2 ** 30;

const labels = fc.record(
  {
    zone: fc.constantFrom('a', 'b', 'c'),
    disk: fc.constantFrom('ssd', 'hdd'),
    rack: fc.constantFrom('r1', 'r2'),
  },
  { requiredKeys: [] },
);

const state: fc.Arbitrary<HostState> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('ready' as const) },
  { weight: 1, arbitrary: fc.constantFrom('draining' as const, 'lost' as const) },
);

export const capacity = fc.record({
  addresses: fc.integer({ min: 0, max: 40 }),
  maxInstances: fc.integer({ min: 0, max: 40 }),
  // 256 MiB steps: the host keeps max(256 MiB, a tenth) for itself.
  memoryBytes: fc.integer({ min: 0, max: 64 }).map((n) => n * 256 * MIB),
  cpus: fc.integer({ min: 1, max: 8 }),
  // The host keeps max(1024, a tenth) pids: many of these hosts have few or none to give.
  pids: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 30_000 })),
});

const reserved = fc.record(
  {
    memoryBytes: fc.integer({ min: 0, max: 8 }).map((n) => n * 128 * MIB),
    cpus: fc.integer({ min: 0, max: 40 }).map((n) => n / 10),
    pids: fc.integer({ min: 0, max: 500 }),
    instances: fc.integer({ min: 0, max: 5 }),
  },
  { requiredKeys: [] },
);

export const hostNames = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9'];

export const host = (name: string): fc.Arbitrary<PlacementHost> =>
  fc
    .record({ labels, capacity, state, reserved: fc.option(reserved, { nil: undefined }) })
    .map(({ reserved: r, ...h }) => ({ name, ...h, ...(r && { reserved: r }) }));

export const hosts = fc
  .uniqueArray(fc.constantFrom(...hostNames), { maxLength: 8 })
  .chain((names) => fc.tuple(...names.map(host)));

const CONSTRAINT_POOL = ['disk=ssd', 'disk!=hdd', 'zone!=c', 'rack=r1', 'zone=a', 'rack!=r2'];

export const rules: fc.Arbitrary<PlacementRules> = fc
  .record({
    spread: fc.option(fc.constantFrom('zone', 'rack'), { nil: undefined }),
    constraints: fc.subarray(CONSTRAINT_POOL, { maxLength: 2 }),
  })
  .map(({ spread, constraints }) => {
    const parsed = parseConstraints(constraints).constraints;
    return spread === undefined ? { constraints: parsed } : { spread, constraints: parsed };
  });

export const resources = fc.record(
  {
    memoryBytes: fc.integer({ min: 1, max: 32 }).map((n) => n * 64 * MIB),
    cpus: fc.integer({ min: 1, max: 20 }).map((n) => n / 10),
    pids: fc.integer({ min: 1, max: 300 }),
  },
  { requiredKeys: [] },
);

/** Fleets f0…f3, each with its rules and one size for all its instances, and 0–40 instances. */
export const instances: fc.Arbitrary<PlacementInstance[]> = fc
  .tuple(
    fc.array(fc.record({ rules, resources }), { minLength: 1, maxLength: 4 }),
    fc.array(fc.nat(), { maxLength: 40 }),
  )
  .map(([fleets, picks]) =>
    picks.map((pick, n) => {
      const f = pick % fleets.length;
      return { id: `f${f}-${n}`, fleet: `f${f}`, ...fleets[f]! };
    }),
  );

/** Hosts, instances, and where some of them run now (on hosts known or not, fitting or not). */
export const input: fc.Arbitrary<PlacementInput> = fc.tuple(hosts, instances).chain(([hs, is]) =>
  fc
    .array(fc.option(fc.constantFrom(...hs.map((h) => h.name), 'gone'), { nil: undefined }), {
      minLength: is.length,
      maxLength: is.length,
    })
    .map((where) => ({
      hosts: hs,
      instances: is,
      current: Object.fromEntries(
        is.flatMap((i, n) => (where[n] === undefined ? [] : [[i.id, where[n]]])),
      ),
    })),
);

/**
 * Inputs whose hosts all have the first one's capacity and no reserve: ties between hosts
 * everywhere, which only the order by name may break.
 */
export const alikeInput: fc.Arbitrary<PlacementInput> = input.map((inp) => ({
  ...inp,
  hosts: inp.hosts.map(({ reserved: _, ...h }) => ({ ...h, capacity: inp.hosts[0]!.capacity })),
}));

/** The same input in another order: hosts, instances and current's keys shuffled. */
export function shuffled(input: PlacementInput): fc.Arbitrary<PlacementInput> {
  const all = <T>(xs: readonly T[]) => fc.shuffledSubarray([...xs], { minLength: xs.length });
  return fc
    .tuple(all(input.hosts), all(input.instances), all(Object.entries(input.current)))
    .map(([hs, is, cur]) => ({ hosts: hs, instances: is, current: Object.fromEntries(cur) }));
}

/** What an instance takes, in the units hosts are bounded in (as `fleetDemand` counts it). */
export function demandOf(i: PlacementInstance) {
  return {
    memoryBytes: i.resources.memoryBytes ?? 0,
    cpus: i.resources.cpus ?? 0,
    pids: i.resources.pids ?? 1,
    instances: 1,
  };
}

/** A host with room for anything these tests place. */
export function roomy(name: string, hostLabels: Record<string, string> = {}): PlacementHost {
  return {
    name,
    labels: hostLabels,
    state: 'ready',
    capacity: {
      addresses: 65_000,
      maxInstances: 65_000,
      memoryBytes: 1024 * GIB,
      cpus: 1024,
      pids: 4_000_000,
    },
  };
}
