import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostLimits } from '../capacity/host-capacity.js';
import {
  alikeInput,
  demandOf,
  host,
  input,
  instances,
  roomy,
  shuffled,
} from './arbitraries.case.js';
import { holds } from './constraint.js';
import { place } from './place.js';
import { HOST_STATES, type Placement, type PlacementHost, type PlacementInput } from './types.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 100) });

/** What the instances assigned to `host` take of it, its reserve included. */
function usedOn(inp: PlacementInput, result: Placement, h: PlacementHost, also: string[] = []) {
  const r = h.reserved ?? {};
  const used = {
    memoryBytes: r.memoryBytes ?? 0,
    cpus: r.cpus ?? 0,
    pids: r.pids ?? 0,
    instances: r.instances ?? 0,
  };
  for (const i of inp.instances) {
    if (result.assignments[i.id] !== h.name && !also.includes(i.id)) continue;
    const d = demandOf(i);
    used.memoryBytes += d.memoryBytes;
    used.cpus += d.cpus;
    used.pids += d.pids;
    used.instances += 1;
  }
  return used;
}

function within(used: ReturnType<typeof usedOn>, h: PlacementHost): boolean {
  const l = hostLimits(h.capacity);
  return (
    used.memoryBytes <= l.memoryBytes &&
    used.cpus <= l.cpus + 1e-9 &&
    used.pids <= l.pids &&
    used.instances <= l.instances
  );
}

describe('placement: safety', () => {
  it('never puts a host over any dimension of its capacity', () => {
    fc.assert(
      fc.property(input, (inp) => {
        const result = place(inp);
        for (const h of inp.hosts) {
          if (!Object.values(result.assignments).includes(h.name)) continue;
          expect(within(usedOn(inp, result, h), h)).toBe(true);
        }
      }),
    );
  });

  it('assigns only to ready hosts that meet every constraint of the instance', () => {
    fc.assert(
      fc.property(input, (inp) => {
        const result = place(inp);
        const hosts = new Map(inp.hosts.map((h) => [h.name, h]));
        for (const i of inp.instances) {
          const name = result.assignments[i.id];
          if (name === undefined) continue;
          const h = hosts.get(name)!;
          expect(h.state).toBe('ready');
          for (const c of i.rules.constraints) expect(holds(c, h.labels)).toBe(true);
        }
      }),
    );
  });

  it('gives each instance a host or reasons, never both; gives up only when no host has room', () => {
    fc.assert(
      fc.property(input, (inp) => {
        const result = place(inp);
        const unplaceable = new Set(result.unplaceable.map((u) => u.instance));
        expect(unplaceable.size).toBe(result.unplaceable.length);
        for (const i of inp.instances)
          expect(Object.hasOwn(result.assignments, i.id)).toBe(!unplaceable.has(i.id));
        expect(Object.keys(result.assignments).length + unplaceable.size).toBe(
          inp.instances.length,
        );
        // Hosts only fill up as placement goes: a host with room for it now had room then.
        for (const i of inp.instances.filter((i) => unplaceable.has(i.id)))
          for (const h of inp.hosts)
            if (h.state === 'ready' && i.rules.constraints.every((c) => holds(c, h.labels)))
              expect(within(usedOn(inp, result, h, [i.id]), h)).toBe(false);
      }),
    );
  });
});

describe('placement: stability', () => {
  it('moves an instance only for a cause that holds, and says where it went', () => {
    fc.assert(
      fc.property(input, (inp) => {
        const result = place(inp);
        const hosts = new Map(inp.hosts.map((h) => [h.name, h]));
        const moves = new Map(result.moves.map((m) => [m.instance, m]));
        expect(moves.size).toBe(result.moves.length);
        for (const i of inp.instances) {
          if (!Object.hasOwn(inp.current, i.id)) {
            expect(moves.has(i.id)).toBe(false);
            continue;
          }
          const from = inp.current[i.id]!;
          const move = moves.get(i.id);
          if (!move) {
            expect(result.assignments[i.id]).toBe(from);
            continue;
          }
          expect(move).toMatchObject({
            from,
            fleet: i.fleet,
            to: result.assignments[i.id] ?? null,
          });
          expect(move.to).not.toBe(from);
          const h = hosts.get(from);
          const failing = h && i.rules.constraints.find((c) => !holds(c, h.labels));
          const expected = !h
            ? 'host-gone'
            : h.state !== 'ready'
              ? `host-${h.state}`
              : failing
                ? 'constraint'
                : 'capacity';
          expect(move.cause).toBe(expected);
          if (expected === 'constraint')
            expect(move.detail).toBe(`host ${from} fails ${failing!.text}`);
          if (move.cause === 'capacity') {
            // Kept by id while they fit: it does not fit beside those of smaller id kept there.
            const before = inp.instances
              .filter((o) => o.id < i.id && result.assignments[o.id] === from)
              .filter((o) => inp.current[o.id] === from)
              .map((o) => o.id);
            const kept = { ...result, assignments: {} };
            expect(within(usedOn(inp, kept, h!, [...before, i.id]), h!)).toBe(false);
          }
        }
      }),
    );
  });

  it('moves nothing when placed again with its own result, nor when a host is added', () => {
    fc.assert(
      fc.property(input, host('new'), (inp, added) => {
        const first = place(inp);
        const again = place({ ...inp, current: first.assignments });
        expect(again.moves).toEqual([]);
        expect(again.assignments).toEqual(first.assignments);
        expect(again.unplaceable.map((u) => u.instance)).toEqual(
          first.unplaceable.map((u) => u.instance),
        );
        const grown = place({ ...inp, hosts: [...inp.hosts, added], current: first.assignments });
        expect(grown.moves).toEqual([]);
        for (const [id, name] of Object.entries(first.assignments))
          expect(grown.assignments[id]).toBe(name);
      }),
    );
  });
});

describe('placement: determinism', () => {
  it('gives the same result for the same input in any order', () => {
    fc.assert(
      fc.property(
        fc.oneof(input, alikeInput).chain((inp) => fc.tuple(fc.constant(inp), shuffled(inp))),
        ([inp, other]) => {
          const result = JSON.stringify(place(inp));
          expect(JSON.stringify(place(inp))).toBe(result);
          expect(JSON.stringify(place(other))).toBe(result);
        },
      ),
    );
  });
});

describe('placement: spread', () => {
  const spreadOver = (counts: Map<string, number>, keys: readonly string[]) => {
    const ns = keys.map((k) => counts.get(k) ?? 0);
    return Math.max(...ns) - Math.min(...ns);
  };
  const tally = (keys: (string | undefined)[]) => {
    const m = new Map<string, number>();
    for (const k of keys) if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };

  it('spreads each fleet over equal hosts: at most one more on any host than on another', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), instances, (n, is) => {
        const names = Array.from({ length: n }, (_, k) => `h${String(k).padStart(2, '0')}`);
        const plain = is.map((i) => ({ ...i, rules: { constraints: [] } }));
        const result = place({ hosts: names.map((h) => roomy(h)), instances: plain, current: {} });
        expect(result.unplaceable).toEqual([]);
        for (const fleet of new Set(plain.map((i) => i.fleet))) {
          const on = plain.filter((i) => i.fleet === fleet).map((i) => result.assignments[i.id]);
          expect(spreadOver(tally(on), names)).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('spreads over the values of a label when asked, then over the hosts of each value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.constantFrom('z0', 'z1', 'z2', 'z3'), { nil: undefined }), {
          minLength: 1,
          maxLength: 12,
        }),
        instances,
        (zoneOfHost, is) => {
          const hosts = zoneOfHost.map((z, k) =>
            roomy(`h${k}`, z === undefined ? {} : { zone: z }),
          );
          const spread = is.map((i) => ({ ...i, rules: { spread: 'zone', constraints: [] } }));
          const result = place({ hosts, instances: spread, current: {} });
          const zoneOf = new Map(hosts.map((h) => [h.name, h.labels['zone']]));
          const zones = [...new Set(zoneOfHost.filter((z) => z !== undefined))];
          for (const fleet of new Set(spread.map((i) => i.fleet))) {
            const on = spread
              .filter((i) => i.fleet === fleet)
              .map((i) => result.assignments[i.id]!);
            if (zones.length === 0) {
              expect(spreadOver(tally(on), [...zoneOf.keys()])).toBeLessThanOrEqual(1);
              continue;
            }
            // Hosts without the label are a last resort: with room everywhere, never used.
            expect(on.every((h) => zoneOf.get(h) !== undefined)).toBe(true);
            expect(spreadOver(tally(on.map((h) => zoneOf.get(h))), zones)).toBeLessThanOrEqual(1);
            for (const z of zones) {
              const inZone = hosts.filter((h) => h.labels['zone'] === z).map((h) => h.name);
              expect(
                spreadOver(tally(on.filter((h) => zoneOf.get(h) === z)), inZone),
              ).toBeLessThanOrEqual(1);
            }
          }
        },
      ),
    );
  });
});

describe('placement: why an instance fits nowhere', () => {
  it('counts every host once: not ready, else its first failing constraint, else room', () => {
    fc.assert(
      fc.property(input, (inp) => {
        const result = place(inp);
        const byId = new Map(inp.instances.map((i) => [i.id, i]));
        for (const u of result.unplaceable) {
          const i = byId.get(u.instance)!;
          expect(u.fleet).toBe(i.fleet);
          const count = (check: string, subject?: string) =>
            u.reasons
              .filter((r) => r.check === check && (subject === undefined || r.subject === subject))
              .reduce((n, r) => n + r.hosts, 0);
          expect(u.reasons.reduce((n, r) => n + r.hosts, 0)).toBe(inp.hosts.length);
          for (const state of HOST_STATES.filter((s) => s !== 'ready'))
            expect(count('state', state)).toBe(inp.hosts.filter((h) => h.state === state).length);
          const ready = inp.hosts.filter((h) => h.state === 'ready');
          for (const c of i.rules.constraints)
            expect(count('constraint', c.text)).toBe(
              ready.filter(
                (h) => i.rules.constraints.find((o) => !holds(o, h.labels))?.text === c.text,
              ).length,
            );
          const meeting = ready.filter((h) => i.rules.constraints.every((c) => holds(c, h.labels)));
          expect(count('memory') + count('cpus') + count('pids') + count('instances')).toBe(
            meeting.length,
          );
          expect(u.reasons.every((r) => r.hosts > 0)).toBe(true);
          expect([...u.reasons].sort((a, b) => b.hosts - a.hosts)).toEqual(u.reasons);
          const n = inp.hosts.length;
          expect(u.message).toBe(
            n === 0
              ? 'no hosts'
              : `${n} host${n === 1 ? '' : 's'}: ${u.reasons.map((r) => r.text).join(', ')}`,
          );
        }
      }),
    );
  });
});
