import { chooseHost } from './choose.js';
import { holds } from './constraint.js';
import { PlacementError } from './errors.js';
import { HostTable, needOf, type Need } from './host-table.js';
import { keepCurrent } from './keep.js';
import { explain } from './reasons.js';
import { SpreadCounts } from './spread-counts.js';
import type {
  Move,
  Placement,
  PlacementHost,
  PlacementInput,
  PlacementInstance,
  Unplaceable,
} from './types.js';

/**
 * Which host runs each instance. Pure and deterministic: the same hosts, instances and
 * current assignments, in any order, give the same placement.
 *
 * 1. Keep: every instance that runs on a ready host that still meets its constraints and
 *    has room for it stays there (keep.ts). Nothing moves without a cause, and the causes
 *    are in the result.
 * 2. Place the rest, largest first (memory, then CPUs, then pids; then by fleet and id),
 *    each on the best ready host that meets its constraints and has room (choose.ts).
 *    Largest first, as first-fit decreasing packs: small instances fill the gaps large ones
 *    leave, instead of large ones finding no gap left. When room runs short, the smallest
 *    are the ones left out.
 * 3. An instance no host takes is reported with every host's reason (reasons.ts).
 *
 * Never over a host's capacity (its `hostLimits`, as a single host's deploy is checked),
 * counting `reserved` and every kept and placed instance. O(instances × log instances +
 * instances placed × ready hosts + hosts × constraint sets).
 */
export function place(input: PlacementInput): Placement {
  const hosts = sortedUnique(input.hosts, (h: PlacementHost) => h.name, 'host');
  const instances = sortedUnique(input.instances, (i: PlacementInstance) => i.id, 'instance');
  const needs = instances.map((i) => checkedNeed(i));
  const table = new HostTable(hosts);
  const counts = new SpreadCounts(hosts);
  const hostIndex = new Map(hosts.map((h, i) => [h.name, i]));

  const { at, leaving } = keepCurrent(table, counts, instances, needs, input.current, hostIndex);

  const unplaceable: Unplaceable[] = [];
  const eligible = eligibleHosts(table);
  for (const index of placementOrder(instances, needs, at)) {
    const instance = instances[index]!;
    const need = needs[index]!;
    const h = chooseHost(table, counts, eligible(instance), instance, need);
    if (h < 0) {
      unplaceable.push(explain(table, instance, need));
      continue;
    }
    table.add(h, need);
    counts.add(instance.fleet, h);
    at[index] = h;
  }

  // fromEntries defines each key as data: an id of "__proto__" is an id like any other.
  const assignments: Record<string, string> = Object.fromEntries(
    instances.flatMap((instance, index) => {
      const h = at[index]!;
      return h >= 0 ? [[instance.id, hosts[h]!.name]] : [];
    }),
  );
  const moves: Move[] = leaving.map(({ index, from, cause, detail }) => {
    const h = at[index]!;
    const instance = instances[index]!;
    return {
      instance: instance.id,
      fleet: instance.fleet,
      from,
      to: h >= 0 ? hosts[h]!.name : null,
      cause,
      detail,
    };
  });
  unplaceable.sort((a, b) => compare(a.instance, b.instance));
  return { assignments, moves, unplaceable };
}

/** By code unit, as the same strings compare everywhere (localeCompare depends on the locale). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedUnique<T>(items: readonly T[], name: (t: T) => string, what: string): T[] {
  const sorted = [...items].sort((a, b) => compare(name(a), name(b)));
  for (let i = 1; i < sorted.length; i++)
    if (name(sorted[i]!) === name(sorted[i - 1]!))
      throw new PlacementError(
        'E_PLACEMENT_INPUT',
        `placement was given two ${what}s named ${JSON.stringify(name(sorted[i]!))}`,
      );
  return sorted;
}

/** Its need, refused when a resource is not a finite amount ≥ 0 (a fault of the caller). */
function checkedNeed(instance: PlacementInstance): Need {
  const need = needOf(instance);
  const bad = !(need.memory >= 0 && Number.isFinite(need.memory))
    ? ['memory', need.memory]
    : !(need.millicpus >= 0 && Number.isFinite(need.millicpus))
      ? ['cpus', instance.resources.cpus]
      : !(need.pids >= 0 && Number.isFinite(need.pids))
        ? ['pids', need.pids]
        : null;
  if (bad)
    throw new PlacementError(
      'E_PLACEMENT_INPUT',
      `instance ${instance.id}: ${bad[0]} is ${bad[1]}, not an amount`,
    );
  return need;
}

/** The instances without a host, largest first, then by fleet and id. */
function placementOrder(
  instances: readonly PlacementInstance[],
  needs: readonly Need[],
  at: Int32Array,
): number[] {
  const order: number[] = [];
  at.forEach((h, index) => void (h < 0 && order.push(index)));
  return order.sort((x, y) => {
    const a = needs[x]!;
    const b = needs[y]!;
    return (
      b.memory - a.memory ||
      b.millicpus - a.millicpus ||
      b.pids - a.pids ||
      compare(instances[x]!.fleet, instances[y]!.fleet) ||
      x - y // instances are sorted by id
    );
  });
}

/**
 * The ready hosts that meet an instance's constraints, in name order: worked out once per
 * set of constraints (a fleet's, usually), not once per instance.
 */
function eligibleHosts(table: HostTable): (instance: PlacementInstance) => readonly number[] {
  const cache = new Map<string, number[]>();
  return (instance) => {
    const constraints = instance.rules.constraints;
    const key = constraints.map((c) => `${c.key}\0${c.op}\0${c.value}`).join('\n');
    let hosts = cache.get(key);
    if (!hosts) {
      hosts = [];
      for (let h = 0; h < table.hosts.length; h++) {
        const host = table.hosts[h]!;
        if (table.ready[h] && constraints.every((c) => holds(c, host.labels))) hosts.push(h);
      }
      cache.set(key, hosts);
    }
    return hosts;
  };
}
