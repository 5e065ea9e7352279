import { holds } from './constraint.js';
import { formatCpus, formatPids, formatSize } from './format.js';
import type { HostTable, Need } from './host-table.js';
import {
  HOST_STATES,
  type HostCheck,
  type PlacementInstance,
  type ReasonCount,
  type Unplaceable,
} from './types.js';

interface Failure {
  readonly check: HostCheck;
  readonly subject: string;
  /** Where the check comes in HostCheck's order: ties between counts are broken by it. */
  readonly rank: number;
}

const ROOM_RANK = 1000;

/**
 * The first check host `h` fails for the instance, or null when it would take it now. The
 * same checks as placement makes, in HostCheck's order. Pure but for reading the table.
 */
export function firstFailure(
  table: HostTable,
  h: number,
  instance: PlacementInstance,
  need: Need,
): Failure | null {
  const host = table.hosts[h]!;
  if (host.state !== 'ready')
    return { check: 'state', subject: host.state, rank: HOST_STATES.indexOf(host.state) };
  const constraints = instance.rules.constraints;
  for (let i = 0; i < constraints.length; i++) {
    const c = constraints[i]!;
    if (!holds(c, host.labels)) return { check: 'constraint', subject: c.text, rank: 10 + i };
  }
  const dimension = table.lacking(h, need);
  switch (dimension) {
    case null:
      return null;
    case 'memory':
      return { check: dimension, subject: formatSize(need.memory), rank: ROOM_RANK };
    case 'cpus':
      return {
        check: dimension,
        subject: formatCpus(instance.resources.cpus ?? 0),
        rank: ROOM_RANK + 1,
      };
    case 'pids':
      return { check: dimension, subject: formatPids(need.pids), rank: ROOM_RANK + 2 };
    case 'instances':
      return { check: dimension, subject: '', rank: ROOM_RANK + 3 };
  }
}

/**
 * Why no host takes an instance: every host counted once, under the first check it fails,
 * as "3 hosts: 2 lack 64Mi memory, 1 fails disk=ssd". Counting each host once makes the
 * counts add up to the hosts, which is what an operator checks first ("are all my hosts
 * there?"); the first failure is the one to fix first, as the most lasting. Pure but for
 * reading the table.
 */
export function explain(table: HostTable, instance: PlacementInstance, need: Need): Unplaceable {
  const groups = new Map<string, { failure: Failure; hosts: number }>();
  for (let h = 0; h < table.hosts.length; h++) {
    const failure = firstFailure(table, h, instance, need);
    // Placement found no host with room: a host that fails nothing is a fault of ours.
    if (!failure)
      throw new Error(`placement: host ${table.hosts[h]!.name} would take ${instance.id}`);
    const key = `${failure.check}\n${failure.subject}`;
    const group = groups.get(key);
    if (group) group.hosts += 1;
    else groups.set(key, { failure, hosts: 1 });
  }
  const reasons: ReasonCount[] = [...groups.values()]
    .sort((a, b) => b.hosts - a.hosts || a.failure.rank - b.failure.rank)
    .map(({ failure, hosts }) => ({
      check: failure.check,
      subject: failure.subject,
      hosts,
      text: `${hosts} ${phrase(failure, hosts === 1)}`,
    }));
  const n = table.hosts.length;
  const message =
    n === 0
      ? 'no hosts'
      : `${n} ${n === 1 ? 'host' : 'hosts'}: ${reasons.map((r) => r.text).join(', ')}`;
  return { instance: instance.id, fleet: instance.fleet, reasons, message };
}

function phrase(f: Failure, one: boolean): string {
  switch (f.check) {
    case 'state':
      return `${one ? 'is' : 'are'} ${f.subject}`;
    case 'constraint':
      return `${one ? 'fails' : 'fail'} ${f.subject}`;
    case 'memory':
      return `${one ? 'lacks' : 'lack'} ${f.subject} memory`;
    case 'cpus':
    case 'pids':
      return `${one ? 'lacks' : 'lack'} ${f.subject}`;
    case 'instances':
      return one ? 'is at its instance limit' : 'are at their instance limit';
  }
}
