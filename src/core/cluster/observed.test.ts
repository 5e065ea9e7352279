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
import { hostLossHolds, mayRun, observedOf, type ClusterPicture } from './observed.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 100) });

const ARTIFACT = parseDigest(`sha256:${'a'.repeat(64)}`);
const SINCE = '2026-12-04T00:00:00.000Z';

function hostView(name: string, state: HostView['state']): HostView {
  const registration = {
    name,
    labels: {},
    capacity: { memoryBytes: 1, cpus: 1, pids: 1 },
    agent: '0.1.0',
    startedAt: SINCE,
  };
  return {
    name,
    state,
    registration: state === 'lost' ? null : registration,
    member: state === 'unadmitted' ? null : { name, admittedAt: SINCE },
  };
}

const seen = (
  id: string,
  state: InstanceState,
  extra: Partial<ObservedInstance> = {},
): ObservedInstance => ({
  id,
  fleet: id.replace(/-\d+$/, ''),
  artifact: ARTIFACT,
  state,
  ...extra,
});

const desired = (id: string, extra: Partial<DesiredInstance> = {}): DesiredInstance => ({
  id,
  fleet: id.replace(/-\d+$/, ''),
  artifact: ARTIFACT,
  ...extra,
});

/** A picture from plain records: hosts by state, status and assignments by host. */
function picture(
  hosts: Record<string, HostView['state']>,
  status: Record<string, ObservedInstance[]>,
  assignments: Record<string, DesiredInstance[]>,
): ClusterPicture {
  return {
    hosts: Object.entries(hosts).map(([name, state]) => hostView(name, state)),
    status: new Map(Object.entries(status)),
    assignments: new Map(
      Object.entries(assignments).map(([h, ds]) => [h, new Map(ds.map((d) => [d.id, d]))]),
    ),
  };
}

describe('mayRun', () => {
  it('is true exactly for the states in which an instance may run or is about to', () => {
    const running = INSTANCE_STATES.filter((s) => mayRun(seen('x', s)));
    expect(running).toEqual(['pending', 'starting', 'healthy', 'unhealthy', 'stopping']);
  });
});

describe('observedOf: examples', () => {
  it('takes a reported instance as reported, with the host its key names', () => {
    const reported = seen('web-0', 'healthy', { host: 'liar', pid: 42, address: '10.0.0.2' });
    const p = picture({ a: 'live' }, { a: [reported] }, { a: [desired('web-0')] });
    expect(observedOf(p, false)).toEqual([{ ...reported, host: 'a' }]);
  });

  it('shows an assigned instance its host has not reported yet as pending there', () => {
    const p = picture(
      { a: 'live', b: 'live' },
      { a: [] },
      { b: [desired('web-0', { release: 'r7', source: 'reg/web@x' })] },
    );
    expect(observedOf(p, false)).toEqual([
      { id: 'web-0', fleet: 'web', artifact: ARTIFACT, state: 'pending', release: 'r7', host: 'b' },
    ]);
  });

  it('stops the running instances of a lost host, with the reason, and keeps the others', () => {
    const p = picture(
      { a: 'live', b: 'lost' },
      {
        b: [
          seen('web-0', 'healthy'),
          seen('web-1', 'stopping'),
          seen('web-2', 'failed', { reason: 'exit 1' }),
        ],
      },
      { b: [desired('web-0'), desired('web-1'), desired('web-2'), desired('web-3')] },
    );
    const lost = { state: 'stopped', reason: 'host b is lost', host: 'b' };
    expect(observedOf(p, false)).toEqual([
      { ...seen('web-0', 'healthy'), ...lost },
      { ...seen('web-1', 'stopping'), ...lost },
      { ...seen('web-2', 'failed', { reason: 'exit 1' }), host: 'b' },
      // Assigned, never reported: it would be pending, but its host is lost.
      { ...seen('web-3', 'pending'), ...lost },
    ]);
  });

  it('leaves a lost host’s instances as reported when the host-loss guard holds', () => {
    const p = picture(
      { a: 'lost', b: 'lost' },
      { a: [seen('web-0', 'healthy')] },
      { a: [desired('web-0')], b: [desired('web-1')] },
    );
    expect(observedOf(p, true)).toEqual([
      { ...seen('web-0', 'healthy'), host: 'a' },
      { ...seen('web-1', 'pending'), host: 'b' },
    ]);
  });

  it('does not stop instances of a live host, whatever else is lost', () => {
    const p = picture(
      { a: 'live', b: 'lost' },
      { a: [seen('web-0', 'healthy')] },
      { a: [desired('web-0')] },
    );
    expect(observedOf(p, false)).toEqual([{ ...seen('web-0', 'healthy'), host: 'a' }]);
  });

  it('shows what a live host runs unassigned as stopping: it is stopping it, and it must not count', () => {
    const p = picture(
      { a: 'live' },
      { a: [seen('old-0', 'healthy'), seen('gone-0', 'failed')] },
      {},
    );
    expect(observedOf(p, false)).toEqual([
      { ...seen('gone-0', 'failed'), host: 'a' },
      { ...seen('old-0', 'stopping'), host: 'a', reason: 'not assigned to a: it stops it' },
    ]);
  });

  it('shows an id two hosts report once, on the host it is assigned to, in either name order', () => {
    for (const [from, to] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const p = picture(
        { a: 'live', b: 'live' },
        { [from]: [seen('web-0', 'stopping')], [to]: [seen('web-0', 'starting')] },
        { [to]: [desired('web-0')] },
      );
      expect(observedOf(p, false)).toEqual([{ ...seen('web-0', 'starting'), host: to }]);
    }
  });

  it('shows an id once when two hosts report it and neither is assigned it', () => {
    const p = picture(
      { a: 'live', b: 'live' },
      { b: [seen('web-0', 'stopping')], a: [seen('web-0', 'stopped')] },
      {},
    );
    const shown = observedOf(p, false);
    expect(shown).toHaveLength(1);
    expect(['a', 'b']).toContain(shown[0]!.host);
  });

  it('shows an instance assigned to a host that has not reported it as pending there, even while its old host still reports it', () => {
    // The end of a move: host a stopped web-0 (and still reports it stopped), so it was written
    // to b, which has not reported it yet. The doc: "An instance assigned to a host that has
    // not reported it yet is `pending` there: the planner must count it". observedOf shows
    // a's stale `stopped` report instead (on a), so the planner sees web-0 stopped.
    const p = picture(
      { a: 'live', b: 'live' },
      { a: [seen('web-0', 'stopped')] },
      { b: [desired('web-0')] },
    );
    expect(observedOf(p, false)).toEqual([{ ...seen('web-0', 'pending'), host: 'b' }]);
  });
});

const HOSTS = ['h0', 'h1', 'h2', 'h3'];
const IDS = ['web-0', 'web-1', 'web-2', 'api-0', 'api-1', 'db-0'];

/** Hosts in any state, each reporting and assigned any of a few ids (an id may be on several). */
const pictures: fc.Arbitrary<ClusterPicture> = fc
  .record({
    states: fc.tuple(...HOSTS.map(() => fc.constantFrom('live', 'lost', 'unadmitted' as const))),
    status: fc.tuple(
      ...HOSTS.map(() =>
        fc.option(
          fc.uniqueArray(fc.tuple(fc.constantFrom(...IDS), fc.constantFrom(...INSTANCE_STATES)), {
            selector: ([id]) => id,
            maxLength: IDS.length,
          }),
          { nil: undefined },
        ),
      ),
    ),
    assigned: fc.tuple(...HOSTS.map(() => fc.option(fc.subarray(IDS), { nil: undefined }))),
  })
  .map(({ states, status, assigned }) => ({
    hosts: HOSTS.map((h, k) => hostView(h, states[k]!)),
    status: new Map(
      HOSTS.flatMap((h, k) => {
        const s = status[k];
        return s === undefined ? [] : [[h, s.map(([id, state]) => seen(id, state))] as const];
      }),
    ),
    assignments: new Map(
      HOSTS.flatMap((h, k) => {
        const a = assigned[k];
        return a === undefined ? [] : [[h, new Map(a.map((id) => [id, desired(id)]))] as const];
      }),
    ),
  }));

describe('observedOf: properties', () => {
  it('shows every id reported or assigned exactly once, sorted by id', () => {
    fc.assert(
      fc.property(pictures, fc.boolean(), (p, holdLost) => {
        const ids = new Set<string>();
        for (const reported of p.status.values()) for (const i of reported) ids.add(i.id);
        for (const assigned of p.assignments.values())
          for (const id of assigned.keys()) ids.add(id);
        const shown = observedOf(p, holdLost).map((i) => i.id);
        expect(shown).toEqual([...ids].sort());
      }),
    );
  });

  it('shows each instance on a host that reports it or is assigned it, as that host says', () => {
    fc.assert(
      fc.property(pictures, fc.boolean(), (p, holdLost) => {
        const lost = new Set(p.hosts.filter((h) => h.state === 'lost').map((h) => h.name));
        for (const shown of observedOf(p, holdLost)) {
          const host = shown.host!;
          const reported = p.status.get(host)?.find((i) => i.id === shown.id);
          const assigned = p.assignments.get(host)?.has(shown.id) ?? false;
          expect(reported !== undefined || assigned).toBe(true);
          const as = reported ?? seen(shown.id, 'pending');
          const stop = lost.has(host) && !holdLost && mayRun(as);
          const live = p.hosts.some((h) => h.name === host && h.state === 'live');
          const unassigned = live && mayRun(as) && !assigned;
          expect(shown).toEqual(
            stop
              ? { ...as, host, state: 'stopped', reason: `host ${host} is lost` }
              : unassigned
                ? { ...as, host, state: 'stopping', reason: `not assigned to ${host}: it stops it` }
                : { ...as, host },
          );
        }
      }),
    );
  });

  it('prefers the report of the host an instance is assigned to', () => {
    fc.assert(
      fc.property(pictures, fc.boolean(), (p, holdLost) => {
        for (const shown of observedOf(p, holdLost)) {
          // Assigned to several hosts is no state the leader writes: left out.
          const to = [...p.assignments].filter(([, ids]) => ids.has(shown.id)).map(([h]) => h);
          if (to.length !== 1 || !p.status.get(to[0]!)?.some((i) => i.id === shown.id)) continue;
          expect(shown.host).toBe(to[0]);
        }
      }),
    );
  });
});

describe('hostLossHolds', () => {
  const hosts = (counts: Partial<Record<HostView['state'], number>>) =>
    Object.entries(counts).flatMap(([state, n]) =>
      Array.from({ length: n }, (_, k) => hostView(`${state}-${k}`, state as HostView['state'])),
    );

  it('never holds for one lost host, whatever the cluster’s size or the percentage', () => {
    expect(hostLossHolds(hosts({ lost: 1 }), 20)).toBe(false);
    expect(hostLossHolds(hosts({ lost: 1, live: 1 }), 20)).toBe(false);
    expect(hostLossHolds(hosts({ lost: 1, live: 1 }), 0)).toBe(false);
    expect(hostLossHolds(hosts({ live: 5 }), 0)).toBe(false);
  });

  it('holds for 2 of 3 and 3 of 10, not for 2 of 10 (exactly 20%)', () => {
    expect(hostLossHolds(hosts({ lost: 2, live: 1 }), 20)).toBe(true);
    expect(hostLossHolds(hosts({ lost: 2, live: 8 }), 20)).toBe(false);
    expect(hostLossHolds(hosts({ lost: 3, live: 7 }), 20)).toBe(true);
  });

  it('counts only admitted hosts', () => {
    // 2 of 8 admitted is 25%: it holds. Counted, 3 unadmitted would make it 2 of 11 (18%).
    expect(hostLossHolds(hosts({ lost: 2, live: 6 }), 20)).toBe(true);
    expect(hostLossHolds(hosts({ lost: 2, live: 6, unadmitted: 3 }), 20)).toBe(true);
    expect(hostLossHolds(hosts({ lost: 2, live: 8, unadmitted: 20 }), 20)).toBe(false);
  });

  it('holds exactly when more than one and more than the percentage are lost', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 30 }),
        fc.nat({ max: 30 }),
        fc.nat({ max: 5 }),
        fc.integer({ min: 0, max: 100 }),
        (lost, live, unadmitted, percent) => {
          const all = hosts({ lost, live, unadmitted });
          const admitted = lost + live;
          expect(hostLossHolds(all, percent)).toBe(lost >= 2 && lost / admitted > percent / 100);
        },
      ),
    );
  });
});
