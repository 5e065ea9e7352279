import { holds } from './constraint.js';
import { formatCpus, formatPids, formatSize } from './format.js';
import type { HostTable, Need } from './host-table.js';
import type { SpreadCounts } from './spread-counts.js';
import type { MoveCause, PlacementInstance } from './types.js';

/** An instance leaving its host, before placement says where it goes. */
export interface Leaving {
  readonly index: number;
  readonly from: string;
  readonly cause: MoveCause;
  readonly detail: string;
}

/**
 * Stability: which instances stay where they run. An instance stays unless its host is
 * gone, not ready, fails one of its constraints, or has no room left for it beside the
 * instances kept before it (its capacity shrank), each kept in id order. Nothing else moves
 * an instance: not a better host, not a spread gone uneven (rebalancing would be a cause of
 * its own, decided elsewhere). Kept instances are added to the table and the counts.
 *
 * `instances` sorted by id; returns each one's host index (-1: to place) and who leaves.
 */
export function keepCurrent(
  table: HostTable,
  counts: SpreadCounts,
  instances: readonly PlacementInstance[],
  needs: readonly Need[],
  current: Readonly<Record<string, string>>,
  hostIndex: ReadonlyMap<string, number>,
): { readonly at: Int32Array; readonly leaving: readonly Leaving[] } {
  const at = new Int32Array(instances.length).fill(-1);
  const leaving: Leaving[] = [];
  instances.forEach((instance, index) => {
    if (!Object.hasOwn(current, instance.id)) return;
    const from = current[instance.id]!;
    const h = hostIndex.get(from);
    const why = h === undefined ? gone(from) : cause(table, h, instance, needs[index]!);
    if (why) return void leaving.push({ index, from, ...why });
    table.add(h!, needs[index]!);
    counts.add(instance.fleet, h!);
    at[index] = h!;
  });
  return { at, leaving };
}

type Cause = { readonly cause: MoveCause; readonly detail: string };

function gone(from: string): Cause {
  return { cause: 'host-gone', detail: `host ${from} is not among the hosts any more` };
}

/** Why the instance leaves host `h`, or null if it stays. */
function cause(table: HostTable, h: number, instance: PlacementInstance, need: Need): Cause | null {
  const host = table.hosts[h]!;
  const from = host.name;
  if (host.state !== 'ready')
    return { cause: `host-${host.state}`, detail: `host ${from} is ${host.state}` };
  const failed = instance.rules.constraints.find((c) => !holds(c, host.labels));
  if (failed) return { cause: 'constraint', detail: `host ${from} fails ${failed.text}` };
  const lacking = table.lacking(h, need);
  if (lacking === null) return null;
  const what =
    lacking === 'memory'
      ? `${formatSize(need.memory)} memory`
      : lacking === 'cpus'
        ? formatCpus(instance.resources.cpus ?? 0)
        : lacking === 'pids'
          ? formatPids(need.pids)
          : 'an instance slot';
  return {
    cause: 'capacity',
    detail: `host ${from} lacks ${what} for it beside the instances it keeps`,
  };
}
