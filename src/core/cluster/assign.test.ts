import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HostView } from '../../domain/cluster.js';
import { parseDigest } from '../../domain/digest.js';
import {
  INSTANCE_STATES,
  type DesiredInstance,
  type InstanceState,
  type ObservedInstance,
} from '../../domain/instance.js';
import { DEFAULT_MAX_INSTANCES, hostLimits } from '../capacity/host-capacity.js';
import { GIB, MIB, resources, rules } from '../placement/arbitraries.case.js';
import { rulesOf } from '../placement/rules.js';
import type { PlacementRules } from '../placement/types.js';
import { assignmentChanges, type AssignDecision, type AssignInput } from './assign.js';
import { mayRun } from './observed.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 100) });

type Assignments = ReadonlyMap<string, ReadonlyMap<string, DesiredInstance>>;

const ARTIFACT = parseDigest(`sha256:${'a'.repeat(64)}`);
const SINCE = '2026-12-04T00:00:00.000Z';

interface Capacity {
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly pids: number;
}

/** 8 GiB, 4 CPUs, 32768 pids: room for anything the examples place. */
const ROOMY: Capacity = { memoryBytes: 8 * GIB, cpus: 4, pids: 32_768 };

function hostView(
  name: string,
  state: HostView['state'],
  labels: Record<string, string> = {},
  capacity: Capacity = ROOMY,
): HostView {
  const registration = { name, labels, capacity, agent: '0.1.0', startedAt: SINCE };
  return {
    name,
    state,
    registration: state === 'lost' ? null : registration,
    member: state === 'unadmitted' ? null : { name, admittedAt: SINCE },
  };
}

const desired = (id: string, extra: Partial<DesiredInstance> = {}): DesiredInstance => ({
  id,
  fleet: id.replace(/-\d+$/, ''),
  artifact: ARTIFACT,
  ...extra,
});

const seen = (id: string, state: InstanceState): ObservedInstance => ({
  id,
  fleet: id.replace(/-\d+$/, ''),
  artifact: ARTIFACT,
  state,
});

const byHost = (assignments: Record<string, DesiredInstance[]>): Assignments =>
  new Map(Object.entries(assignments).map(([h, ds]) => [h, new Map(ds.map((d) => [d.id, d]))]));

/** An input with no rules, 253 addresses, nothing held, unless told otherwise. */
function input(parts: Partial<AssignInput> & Pick<AssignInput, 'hosts'>): AssignInput {
  return {
    desired: [],
    status: new Map(),
    current: new Map(),
    rulesOf: () => ({ constraints: [] }),
    addressesPerHost: 253,
    holdLost: false,
    ...parts,
  };
}

/** The assignments once a decision's changes are written. */
function applied(current: Assignments, decision: AssignDecision): Assignments {
  const next = new Map([...current].map(([h, ids]) => [h, new Map(ids)]));
  for (const [host, change] of decision.changes) {
    const ids = next.get(host) ?? new Map<string, DesiredInstance>();
    next.set(host, ids);
    for (const id of change.remove) ids.delete(id);
    for (const d of change.put) ids.set(d.id, d);
  }
  return next;
}

/** Instance id → the hosts it is assigned to. */
function hostsOf(assignments: Assignments): Map<string, string[]> {
  const on = new Map<string, string[]>();
  for (const [host, ids] of assignments)
    for (const id of ids.keys()) on.set(id, [...(on.get(id) ?? []), host]);
  return on;
}

/** A decision as plain data, for comparing two. */
const plain = (d: AssignDecision) => JSON.stringify({ ...d, changes: [...d.changes] });

// Generated clusters: hosts in any state, fleets with rules and sizes, current assignments
// (some stale, some for instances no longer desired, on hosts known or gone), and status
// reports in any state.

const HOST_NAMES = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'];
const ORPHANS = ['old-0', 'old-1', 'old-2'];

const generatedHost = (name: string): fc.Arbitrary<HostView> =>
  fc
    .record({
      state: fc.oneof(
        { weight: 5, arbitrary: fc.constant('live' as const) },
        { weight: 2, arbitrary: fc.constant('lost' as const) },
        { weight: 1, arbitrary: fc.constant('unadmitted' as const) },
      ),
      labels: fc.record(
        {
          zone: fc.constantFrom('a', 'b', 'c'),
          disk: fc.constantFrom('ssd', 'hdd'),
          rack: fc.constantFrom('r1', 'r2'),
        },
        { requiredKeys: [] },
      ),
      capacity: fc.record({
        // The host keeps max(256 MiB, a tenth) of its memory and max(1024, a tenth) pids.
        memoryBytes: fc.integer({ min: 0, max: 24 }).map((n) => n * 256 * MIB),
        cpus: fc.integer({ min: 0, max: 4 }),
        pids: fc.integer({ min: 0, max: 4000 }),
      }),
    })
    .map(({ state, labels, capacity }) => hostView(name, state, labels, capacity));

/** One fleet: its rules, its instances' size, how many it wants. */
const fleet = fc.record({ rules, resources, count: fc.nat({ max: 8 }) });

const clusters: fc.Arbitrary<AssignInput> = fc
  .record({
    hosts: fc
      .uniqueArray(fc.constantFrom(...HOST_NAMES), { minLength: 1, maxLength: 5 })
      .chain((names) => fc.tuple(...names.map(generatedHost))),
    fleets: fc.array(fleet, { minLength: 1, maxLength: 3 }),
    release: fc.constantFrom('r1', 'r2'),
    addressesPerHost: fc.oneof(fc.constant(253), fc.nat({ max: 6 })),
    holdLost: fc.boolean(),
  })
  .chain(({ hosts, fleets, release, addressesPerHost, holdLost }) => {
    const wanted = fleets.flatMap((f, k) =>
      Array.from({ length: f.count }, (_, n) =>
        desired(`f${k}-${n}`, { fleet: `f${k}`, release, resources: f.resources }),
      ),
    );
    const ids = [...wanted.map((d) => d.id), ...ORPHANS];
    const places = [...hosts.map((h) => h.name), 'gone'];
    const state = fc.constantFrom(...INSTANCE_STATES);
    // Where an instance is assigned (if anywhere), whether that assignment is an older
    // release, and what its host reports of it (if anything).
    const where = fc.option(
      fc.record({
        host: fc.constantFrom(...places),
        stale: fc.boolean(),
        reported: fc.option(state, { nil: undefined }),
      }),
      { nil: undefined },
    );
    // What hosts report of instances they are not assigned: moves, scale-downs, orphans.
    const extra = fc.uniqueArray(fc.tuple(fc.constantFrom(...ids), state), {
      selector: ([id]) => id,
      maxLength: 3,
    });
    return fc
      .record({
        where: fc.array(where, { minLength: ids.length, maxLength: ids.length }),
        extras: fc.tuple(...places.map(() => extra)),
      })
      .map(({ where, extras }): AssignInput => {
        const current = new Map<string, Map<string, DesiredInstance>>();
        const status = new Map<string, ObservedInstance[]>();
        ids.forEach((id, n) => {
          const w = where[n];
          if (w === undefined) return;
          const d = wanted.find((x) => x.id === id) ?? desired(id, { release: 'r0' });
          const assigned = current.get(w.host) ?? new Map<string, DesiredInstance>();
          current.set(w.host, assigned);
          assigned.set(id, w.stale ? { ...d, release: 'r0' } : d);
          if (w.reported !== undefined)
            status.set(w.host, [...(status.get(w.host) ?? []), seen(id, w.reported)]);
        });
        places.forEach((h, k) => {
          const reported = status.get(h) ?? [];
          const more = extras[k]!.filter(([id]) => !reported.some((i) => i.id === id));
          if (reported.length + more.length > 0)
            status.set(h, [...reported, ...more.map(([id, s]) => seen(id, s))]);
        });
        const rulesByFleet = new Map(fleets.map((f, k) => [`f${k}`, f.rules]));
        return {
          desired: wanted,
          hosts,
          status,
          current,
          rulesOf: (f: string): PlacementRules => rulesByFleet.get(f) ?? { constraints: [] },
          addressesPerHost,
          holdLost,
        };
      });
  });

/** Hosts other than `host` that report `id` in a state where it may run. */
const runningElsewhere = (inp: AssignInput, id: string, host: string) =>
  [...inp.status]
    .filter(([h, reported]) => h !== host && reported.some((i) => i.id === id && mayRun(i)))
    .map(([h]) => h);

/** Live hosts that report, in a state where it may run, an instance they are not assigned. */
const staleLiveHosts = (inp: AssignInput) =>
  inp.hosts
    .filter((h) => h.state === 'live')
    .map((h) => h.name)
    .filter((h) =>
      (inp.status.get(h) ?? []).some((i) => mayRun(i) && !inp.current.get(h)?.has(i.id)),
    )
    .sort();

/** The host each desired instance is assigned to now (the generator assigns each to one). */
const currentHost = (inp: AssignInput, id: string) => hostsOf(inp.current).get(id)?.[0];

describe('assignmentChanges: safety', () => {
  it('never fills a host past what its registration gives instances (hostLimits)', () => {
    fc.assert(
      fc.property(clusters, (inp) => {
        const after = applied(inp.current, assignmentChanges(inp));
        for (const h of inp.hosts) {
          if (h.state !== 'live') continue; // Only what is held stays on the others (below).
          const assigned = [...(after.get(h.name)?.values() ?? [])];
          const limits = hostLimits({
            ...h.registration!.capacity,
            addresses: inp.addressesPerHost,
            maxInstances: DEFAULT_MAX_INSTANCES,
          });
          const sum = (f: (d: DesiredInstance) => number) => assigned.reduce((n, d) => n + f(d), 0);
          expect(assigned.length).toBeLessThanOrEqual(limits.instances);
          expect(sum((d) => d.resources?.memoryBytes ?? 0)).toBeLessThanOrEqual(limits.memoryBytes);
          expect(sum((d) => d.resources?.cpus ?? 0)).toBeLessThanOrEqual(limits.cpus + 1e-9);
          expect(sum((d) => d.resources?.pids ?? 1)).toBeLessThanOrEqual(limits.pids);
        }
      }),
    );
  });

  it('leaves on a host that is not live only what the host-loss guard holds there', () => {
    fc.assert(
      fc.property(clusters, (inp) => {
        const after = applied(inp.current, assignmentChanges(inp));
        const live = new Set(inp.hosts.filter((h) => h.state === 'live').map((h) => h.name));
        const lost = new Set(inp.hosts.filter((h) => h.state === 'lost').map((h) => h.name));
        const wanted = new Map(inp.desired.map((d) => [d.id, d]));
        for (const [host, ids] of after) {
          if (live.has(host)) continue;
          for (const [id, d] of ids) {
            expect(inp.holdLost && lost.has(host)).toBe(true);
            expect(inp.current.get(host)?.has(id)).toBe(true);
            expect(d).toEqual(wanted.get(id));
          }
        }
      }),
    );
  });

  it('writes no instance to a host while another host reports it running, unless it was assigned there', () => {
    fc.assert(
      fc.property(clusters, (inp) => {
        for (const [host, change] of assignmentChanges(inp).changes)
          for (const d of change.put)
            if (runningElsewhere(inp, d.id, host).length > 0)
              expect(inp.current.get(host)?.has(d.id)).toBe(true);
      }),
    );
  });

  it('fences every live host that runs an instance nobody assigned it: no new instance goes there', () => {
    fc.assert(
      fc.property(clusters, (inp) => {
        const decision = assignmentChanges(inp);
        const stale = staleLiveHosts(inp);
        for (const host of stale) {
          expect(decision.fenced).toContain(host);
          for (const d of decision.changes.get(host)?.put ?? [])
            expect(inp.current.get(host)?.has(d.id)).toBe(true);
        }
      }),
    );
  });
});

describe('assignmentChanges: every desired instance accounted for', () => {
  it('each is on one host once written, or waiting, or unplaceable; nothing else stays', () => {
    fc.assert(
      fc.property(clusters, (inp) => {
        const decision = assignmentChanges(inp);
        const on = hostsOf(applied(inp.current, decision));
        const waiting = new Map(decision.waiting.map((w) => [w.id, w]));
        const unplaceable = new Set(decision.unplaceable.map((u) => u.instance));
        expect(waiting.size).toBe(decision.waiting.length);
        for (const d of inp.desired) {
          const hosts = on.get(d.id) ?? [];
          expect(hosts.length).toBeLessThanOrEqual(1);
          const where = [hosts.length === 1, waiting.has(d.id), unplaceable.has(d.id)];
          expect(where.filter(Boolean), d.id).toHaveLength(1);
        }
        const wanted = new Map(inp.desired.map((d) => [d.id, d]));
        for (const [host, ids] of applied(inp.current, decision))
          for (const [id, d] of ids) expect(wanted.get(id), `${id} on ${host}`).toEqual(d);
      }),
    );
  });

  it('says of a waiting instance where it goes and what it waits for: another host that still runs it, or its own host, fenced', () => {
    fc.assert(
      fc.property(clusters, (inp) => {
        const decision = assignmentChanges(inp);
        for (const w of decision.waiting) {
          if (w.on === w.host) expect(decision.fenced).toContain(w.host);
          else expect(runningElsewhere(inp, w.id, w.host)).toContain(w.on);
          expect(inp.current.get(w.host)?.has(w.id) ?? false).toBe(false);
        }
      }),
    );
  });

  it('changes only what differs: removes what is there, puts what is new or changed', () => {
    fc.assert(
      fc.property(clusters, (inp) => {
        const decision = assignmentChanges(inp);
        for (const [host, change] of decision.changes) {
          expect(change.put.length + change.remove.length).toBeGreaterThan(0);
          for (const id of change.remove) expect(inp.current.get(host)?.has(id)).toBe(true);
          for (const d of change.put) expect(inp.current.get(host)?.get(d.id)).not.toEqual(d);
          expect([...change.remove].sort()).toEqual(change.remove);
          expect(change.put.map((d) => d.id)).toEqual(change.put.map((d) => d.id).sort());
        }
      }),
    );
  });
});

describe('assignmentChanges: lost hosts', () => {
  it('with the host-loss guard, leaves what lost hosts were assigned where it is', () => {
    fc.assert(
      fc.property(clusters, (base) => {
        const inp = { ...base, holdLost: true };
        const decision = assignmentChanges(inp);
        const after = applied(inp.current, decision);
        const lost = new Set(inp.hosts.filter((h) => h.state === 'lost').map((h) => h.name));
        for (const d of inp.desired) {
          const from = currentHost(inp, d.id);
          if (from === undefined || !lost.has(from)) continue;
          expect(hostsOf(after).get(d.id)).toEqual([from]);
          expect(after.get(from)?.get(d.id)).toEqual(d);
          expect(decision.waiting.some((w) => w.id === d.id)).toBe(false);
          expect(decision.unplaceable.some((u) => u.instance === d.id)).toBe(false);
        }
      }),
    );
  });

  it('without it, moves them by id: elsewhere, waiting for the lost host to stop, or unplaceable', () => {
    fc.assert(
      fc.property(clusters, (base) => {
        const inp = { ...base, holdLost: false };
        const decision = assignmentChanges(inp);
        const on = hostsOf(applied(inp.current, decision));
        const lost = new Set(inp.hosts.filter((h) => h.state === 'lost').map((h) => h.name));
        for (const d of inp.desired) {
          const from = currentHost(inp, d.id);
          if (from === undefined || !lost.has(from)) continue;
          const to = on.get(d.id) ?? [];
          expect(to).not.toContain(from);
          const waiting = decision.waiting.some((w) => w.id === d.id);
          const unplaceable = decision.unplaceable.some((u) => u.instance === d.id);
          expect(to.length === 1 || waiting || unplaceable).toBe(true);
          const fencedTarget = decision.waiting.some(
            (w) => w.id === d.id && w.on === w.host && decision.fenced.includes(w.host),
          );
          if (runningElsewhere(inp, d.id, '').length === 0 && !fencedTarget)
            expect(waiting).toBe(false);
        }
      }),
    );
  });
});

describe('assignmentChanges: stability', () => {
  it('is deterministic', () => {
    fc.assert(
      fc.property(clusters, (inp) => {
        expect(plain(assignmentChanges(inp))).toBe(plain(assignmentChanges(inp)));
      }),
    );
  });

  it('gives the same decision for the same cluster listed in any order (but for `on`)', () => {
    const all = <T>(xs: readonly T[]) => fc.shuffledSubarray([...xs], { minLength: xs.length });
    fc.assert(
      fc.property(
        clusters.chain((inp) =>
          fc.tuple(
            fc.constant(inp),
            fc
              .tuple(
                all(inp.hosts),
                all(inp.desired),
                all([...inp.status]),
                all([...inp.current].map(([h, ids]) => [h, [...ids]] as const)),
              )
              .map(([hosts, wanted, status, current]) => ({
                ...inp,
                hosts,
                desired: wanted,
                status: new Map(status),
                current: new Map(current.map(([h, ids]) => [h, new Map(ids)])),
              })),
          ),
        ),
        ([inp, other]) => {
          // Which of several other hosts a waiting instance is said to wait `on` follows the
          // status map's order: any of them is right (checked above), so it is left out.
          const decided = (i: AssignInput) => {
            const d = assignmentChanges(i);
            return plain({ ...d, waiting: d.waiting.map((w) => ({ ...w, on: '' })) });
          };
          expect(decided(other)).toBe(decided(inp));
        },
      ),
    );
  });

  it('changes nothing more once its changes are written (and the hosts report as before)', () => {
    // Even when the first pass removes an instance its host still reports running (a
    // scale-down, a move), so that the second pass fences that host: fencing holds back new
    // work only, and moves nothing (see the scale-down example below).
    fc.assert(
      fc.property(clusters, (inp) => {
        const first = assignmentChanges(inp);
        const again = assignmentChanges({ ...inp, current: applied(inp.current, first) });
        expect([...again.changes]).toEqual([]);
      }),
    );
  });
});

describe('assignmentChanges: examples', () => {
  const zoned = (name: string, zone: string) => hostView(name, 'live', { zone });
  const three = [zoned('a', 'z1'), zoned('b', 'z2'), zoned('c', 'z3')];

  it('spreads a fleet over three hosts, one instance each', () => {
    const web = [0, 1, 2].map((n) => desired(`web-${n}`, { resources: { memoryBytes: GIB } }));
    const decision = assignmentChanges(
      input({ hosts: three, desired: web, rulesOf: () => rulesOf({ spread: 'zone' }) }),
    );
    const puts = [...decision.changes].map(([h, c]) => [h, c.put.length, c.remove.length]);
    expect(puts).toEqual([
      ['a', 1, 0],
      ['b', 1, 0],
      ['c', 1, 0],
    ]);
    expect(decision).toMatchObject({ unplaceable: [], waiting: [], fenced: [] });
  });

  it('reports an instance that fits nowhere, with why, and writes nothing for it', () => {
    const decision = assignmentChanges(
      input({
        hosts: three,
        desired: [desired('big-0', { resources: { memoryBytes: 64 * GIB } })],
      }),
    );
    expect(decision.changes.size).toBe(0);
    expect(decision.unplaceable).toMatchObject([
      { instance: 'big-0', fleet: 'big', message: '3 hosts: 3 lack 64Gi memory' },
    ]);
  });

  it('gives an unadmitted host nothing, and says so', () => {
    const decision = assignmentChanges(
      input({ hosts: [hostView('a', 'unadmitted')], desired: [desired('web-0')] }),
    );
    expect(decision.changes.size).toBe(0);
    expect(decision.unplaceable).toMatchObject([
      { instance: 'web-0', message: '1 host: 1 is lost' },
    ]);
  });

  it('keeps an instance on its host, and writes a new release of it there', () => {
    const web = desired('web-0', { release: 'r2' });
    const decision = assignmentChanges(
      input({
        hosts: three,
        desired: [web],
        current: byHost({ b: [{ ...web, release: 'r1' }] }),
        status: new Map([['b', [seen('web-0', 'healthy')]]]),
      }),
    );
    expect([...decision.changes]).toEqual([['b', { put: [web], remove: [] }]]);
  });

  it('removes what is no longer desired', () => {
    const decision = assignmentChanges(
      input({ hosts: three, current: byHost({ a: [desired('web-0')] }) }),
    );
    expect([...decision.changes]).toEqual([['a', { put: [], remove: ['web-0'] }]]);
  });

  it('moves an instance in two steps: off its old host, then onto the new one once it stopped', () => {
    const ssd = rulesOf({ constraints: ['disk=ssd'] });
    const hosts = [hostView('a', 'live', { disk: 'hdd' }), hostView('b', 'live', { disk: 'ssd' })];
    const db = desired('db-0');
    const moving = input({
      hosts,
      desired: [db],
      rulesOf: () => ssd,
      current: byHost({ a: [db] }),
      status: new Map([['a', [seen('db-0', 'healthy')]]]),
    });
    const first = assignmentChanges(moving);
    expect([...first.changes]).toEqual([['a', { put: [], remove: ['db-0'] }]]);
    expect(first.waiting).toEqual([{ id: 'db-0', host: 'b', on: 'a' }]);

    const stopped = assignmentChanges({
      ...moving,
      current: applied(moving.current, first),
      status: new Map([['a', [seen('db-0', 'stopped')]]]),
    });
    expect([...stopped.changes]).toEqual([['b', { put: [db], remove: [] }]]);
    expect(stopped.waiting).toEqual([]);
  });

  it('with the host-loss guard, leaves a lost host’s instances assigned to it', () => {
    const web = [desired('web-0'), desired('web-1')];
    const decision = assignmentChanges(
      input({
        hosts: [zoned('a', 'z1'), hostView('b', 'lost'), hostView('c', 'lost')],
        desired: web,
        current: byHost({ b: [web[0]!], c: [web[1]!] }),
        holdLost: true,
      }),
    );
    expect(decision).toMatchObject({ unplaceable: [], waiting: [], fenced: [] });
    expect(decision.changes.size).toBe(0);
  });

  it('without it, moves a lost host’s instance, same id, to a live host', () => {
    const web = desired('web-0');
    const decision = assignmentChanges(
      input({
        hosts: [zoned('a', 'z1'), hostView('b', 'lost')],
        desired: [web],
        current: byHost({ b: [web] }),
      }),
    );
    expect([...decision.changes]).toEqual([
      ['a', { put: [web], remove: [] }],
      ['b', { put: [], remove: ['web-0'] }],
    ]);
  });

  it('fences a host back from being lost that runs what it is no longer assigned: its new work waits', () => {
    const decision = assignmentChanges(
      input({
        hosts: [zoned('a', 'z1'), zoned('b', 'z2')],
        desired: [desired('web-0'), desired('web-1')],
        status: new Map([['a', [seen('old-0', 'healthy')]]]),
      }),
    );
    expect(decision.fenced).toEqual(['a']);
    expect(decision.waiting).toEqual([{ id: 'web-0', host: 'a', on: 'a' }]);
    expect([...decision.changes]).toEqual([['b', { put: [desired('web-1')], remove: [] }]]);
  });

  it('a fenced host keeps its assignments (it only takes no new work), as after a scale-down', () => {
    // a runs web-0 and web-1; web-1 was scaled away, so its assignment was removed and a is
    // stopping it: a is fenced, and web-0 stays where it is.
    const web0 = desired('web-0');
    const decision = assignmentChanges(
      input({
        hosts: [zoned('a', 'z1'), zoned('b', 'z2')],
        desired: [web0],
        current: byHost({ a: [web0] }),
        status: new Map([['a', [seen('web-0', 'healthy'), seen('web-1', 'stopping')]]]),
      }),
    );
    expect(decision.fenced).toEqual(['a']);
    expect(decision.waiting).toEqual([]);
    expect([...decision.changes]).toEqual([]);
  });

  it('fences only live hosts (a lost host that reports an unassigned instance is not fenced)', () => {
    const decision = assignmentChanges(
      input({
        hosts: [zoned('a', 'z1'), hostView('b', 'lost')],
        status: new Map([['b', [seen('old-0', 'healthy')]]]),
      }),
    );
    expect(decision.fenced).toEqual([]);
  });
});
