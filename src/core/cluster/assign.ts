import type { HostView } from '../../domain/cluster.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import { sameCanonicalJson } from '../canonical-json.js';
import { DEFAULT_MAX_INSTANCES } from '../capacity/host-capacity.js';
import { place } from '../placement/place.js';
import type { PlacementHost, PlacementRules, Unplaceable } from '../placement/types.js';
import { mayRun } from './observed.js';

/** One host's change: assignments to write (new or changed) and ids to remove. */
export interface HostChange {
  readonly put: readonly DesiredInstance[];
  readonly remove: readonly string[];
}

export interface AssignInput {
  /** Every instance that should run, as the controller decided this pass. */
  readonly desired: readonly DesiredInstance[];
  readonly hosts: readonly HostView[];
  /** What each host reports (its status), by host. */
  readonly status: ReadonlyMap<string, readonly ObservedInstance[]>;
  /** Each host's assignments now, by host, then instance id. */
  readonly current: ReadonlyMap<string, ReadonlyMap<string, DesiredInstance>>;
  /** A fleet's placement rules (constraints, spread). */
  readonly rulesOf: (fleet: string) => PlacementRules;
  /** Addresses a host's instance subnet has (a /24: 253). */
  readonly addressesPerHost: number;
  /**
   * The host-loss guard holds: what lost hosts were assigned stays assigned to them (not
   * moved, which would run one name twice if they only lost their link).
   */
  readonly holdLost: boolean;
}

export interface AssignDecision {
  /** Per host, only hosts with something to change. */
  readonly changes: ReadonlyMap<string, HostChange>;
  readonly unplaceable: readonly Unplaceable[];
  /**
   * Instances placed on a host but not written there yet, because another host still
   * reports them running (a move): never two running instances with one name.
   */
  readonly waiting: readonly { readonly id: string; readonly host: string; readonly on: string }[];
  /** Hosts that take no new work while they still run instances nobody assigned them. */
  readonly fenced: readonly string[];
}

/**
 * Which host runs each desired instance, as writes to each host's assignments. Pure.
 *
 * Placement (core/placement) decides; this turns its decision into per-host changes with two
 * rules of the cluster on top:
 * - a live host that still runs (or reports) an instance it is not assigned takes no new
 *   work (what it runs stays; what placement gives it waits): a host that comes back after it
 *   was lost stops its old instances first;
 * - an instance is not written to a host while another host reports it running: a move
 *   removes it from the old host first and writes the new one when the old one stopped.
 */
export function assignmentChanges(input: AssignInput): AssignDecision {
  const fenced = staleHosts(input);
  const current: Record<string, string> = {};
  for (const host of [...input.current.keys()].sort().reverse())
    for (const id of input.current.get(host)!.keys()) current[id] = host;
  const lost = new Set(input.hosts.filter((h) => h.state === 'lost').map((h) => h.name));
  const held = (d: DesiredInstance) =>
    input.holdLost && current[d.id] !== undefined && lost.has(current[d.id]!);
  const placement = place({
    hosts: input.hosts.flatMap((h) => placementHost(h, input.addressesPerHost)),
    instances: input.desired
      .filter((d) => !held(d))
      .map((d) => ({
        id: d.id,
        fleet: d.fleet,
        resources: d.resources ?? {},
        rules: input.rulesOf(d.fleet),
      })),
    current,
  });
  const byId = new Map(input.desired.map((d) => [d.id, d]));
  const runningOn = runningHosts(input.status);
  const target = new Map<string, Map<string, DesiredInstance>>();
  const waiting: { id: string; host: string; on: string }[] = [];
  const assignments: [string, string][] = [
    ...Object.entries(placement.assignments),
    ...input.desired.filter(held).map((d): [string, string] => [d.id, current[d.id]!]),
  ];
  for (const [id, host] of assignments) {
    const was = input.current.get(host)?.get(id);
    if (was === undefined) {
      const elsewhere = (runningOn.get(id) ?? []).find((h) => h !== host);
      if (elsewhere !== undefined) {
        waiting.push({ id, host, on: elsewhere });
        continue;
      }
      // A fenced host keeps what it runs but takes nothing new until it stopped the rest.
      if (fenced.has(host)) {
        waiting.push({ id, host, on: host });
        continue;
      }
    }
    let mine = target.get(host);
    if (!mine) target.set(host, (mine = new Map<string, DesiredInstance>()));
    mine.set(id, byId.get(id)!);
  }
  const changes = new Map<string, HostChange>();
  for (const host of [...new Set([...input.current.keys(), ...target.keys()])].sort()) {
    const now = input.current.get(host) ?? new Map<string, DesiredInstance>();
    const want = target.get(host) ?? new Map<string, DesiredInstance>();
    const remove = [...now.keys()].filter((id) => !want.has(id)).sort();
    const put = [...want.values()]
      .filter((d) => {
        const was = now.get(d.id);
        return was === undefined || !sameCanonicalJson(was, d);
      })
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    if (put.length > 0 || remove.length > 0) changes.set(host, { put, remove });
  }
  return { changes, unplaceable: placement.unplaceable, waiting, fenced: [...fenced].sort() };
}

/** Live hosts that report an instance, still running, that they are not assigned. */
function staleHosts(input: AssignInput): Set<string> {
  const stale = new Set<string>();
  const live = new Set(input.hosts.filter((h) => h.state === 'live').map((h) => h.name));
  for (const [host, reported] of input.status) {
    if (!live.has(host)) continue;
    const assigned = input.current.get(host);
    if (reported.some((i) => mayRun(i) && !assigned?.has(i.id))) stale.add(host);
  }
  return stale;
}

/** Instance id → the hosts reporting it in a state where it may run. */
function runningHosts(
  status: ReadonlyMap<string, readonly ObservedInstance[]>,
): Map<string, string[]> {
  const on = new Map<string, string[]>();
  for (const [host, reported] of status)
    for (const i of reported)
      if (mayRun(i)) {
        const hosts = on.get(i.id) ?? [];
        hosts.push(host);
        on.set(i.id, hosts);
      }
  return on;
}

/** A host as placement sees it; an unadmitted host takes nothing yet (it is admitted first). */
function placementHost(h: HostView, addresses: number): PlacementHost[] {
  const registration = h.registration;
  // A fenced host is placed as ready (what it runs stays); new work for it waits (above).
  const state = h.state === 'live' ? ('ready' as const) : ('lost' as const);
  return [
    {
      name: h.name,
      labels: registration?.labels ?? {},
      capacity: {
        memoryBytes: registration?.capacity.memoryBytes ?? 0,
        cpus: registration?.capacity.cpus ?? 0,
        pids: registration?.capacity.pids ?? 0,
        addresses,
        maxInstances: DEFAULT_MAX_INSTANCES,
      },
      state: h.state === 'unadmitted' ? 'lost' : state,
    },
  ];
}
