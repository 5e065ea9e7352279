import type { HostView } from '../../domain/cluster.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';

/** What the leader knows of the cluster at one moment: hosts, what they report, what they were told. */
export interface ClusterPicture {
  readonly hosts: readonly HostView[];
  /** Each host's reported instances (its status keys), by host name. */
  readonly status: ReadonlyMap<string, readonly ObservedInstance[]>;
  /** Each host's assignments, by host name, then instance id. */
  readonly assignments: ReadonlyMap<string, ReadonlyMap<string, DesiredInstance>>;
}

/** States in which an instance may still be running on its host (or about to). */
const MAY_RUN: ReadonlySet<string> = new Set([
  'pending',
  'starting',
  'healthy',
  'unhealthy',
  'stopping',
]);

export function mayRun(i: ObservedInstance): boolean {
  return MAY_RUN.has(i.state);
}

/**
 * The controller's view of a cluster: every instance once, on its host. Pure.
 *
 * - An instance a host reports is taken as reported, with the host named by its key.
 * - An instance assigned to a host that has not reported it yet is `pending` there: the
 *   planner must count it, or it would plan the start again or plan around it.
 * - The instances of a lost host are `stopped` with the reason, unless `holdLost` (the
 *   host-loss guard holds): the planner then replaces them under new names. Their names stay
 *   taken while the host's status is there, so a host that was only cut off and comes back
 *   never runs an instance whose name another host runs too; it stops them when it sees
 *   their assignments gone.
 * - A live host's instance that it is not assigned is `stopping`: the host stops what its
 *   assignments do not name (a scale-down, a move, a host back from being lost), so it must
 *   not count as serving, or a host that comes back would look like surplus to the planner.
 * - An id two hosts report (a move: the old host still stops it) is shown once, on the host
 *   it is assigned to; while only its old host reports it, as that host reports it if it may
 *   still run there, else `pending` on its new host.
 */
export function observedOf(picture: ClusterPicture, holdLost: boolean): ObservedInstance[] {
  const lost = new Set(picture.hosts.filter((h) => h.state === 'lost').map((h) => h.name));
  const assignedTo = new Map<string, string>();
  for (const [host, ids] of picture.assignments)
    for (const id of ids.keys()) assignedTo.set(id, host);
  const seen = new Map<string, ObservedInstance>();
  const reportedBy = new Set<string>();
  const live = new Set(picture.hosts.filter((h) => h.state === 'live').map((h) => h.name));
  const asLost = (i: ObservedInstance, host: string): ObservedInstance =>
    lost.has(host) && !holdLost && mayRun(i)
      ? { ...i, host, state: 'stopped', reason: `host ${host} is lost` }
      : live.has(host) && mayRun(i) && !picture.assignments.get(host)?.has(i.id)
        ? { ...i, host, state: 'stopping', reason: `not assigned to ${host}: it stops it` }
        : i.host === host
          ? i // as statuses are read (statusUnderKey): no copy of 10,000 each pass
          : { ...i, host };
  for (const host of [...picture.status.keys()].sort()) {
    for (const reported of picture.status.get(host) ?? []) {
      const i = asLost(reported, host);
      reportedBy.add(`${host}/${i.id}`);
      const before = seen.get(i.id);
      if (before === undefined || assignedTo.get(i.id) === host) seen.set(i.id, i);
    }
  }
  for (const host of [...picture.assignments.keys()].sort()) {
    for (const [id, d] of picture.assignments.get(host) ?? []) {
      const before = seen.get(id);
      // Another host's report stands only while it may still run there (a move under way).
      if (before !== undefined && (reportedBy.has(`${host}/${id}`) || mayRun(before))) continue;
      seen.set(
        id,
        asLost(
          {
            id,
            fleet: d.fleet,
            artifact: d.artifact,
            state: 'pending',
            ...(d.release !== undefined && { release: d.release }),
          },
          host,
        ),
      );
    }
  }
  return [...seen.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Whether the host-loss guard holds replacements: more hosts lost than one and more than
 * `maxLostPercent` of the admitted ones. Losing that many at once is more likely the network
 * (or the control plane's own view of it) than the hosts: replacing them all would double the
 * load on the rest, and the instances most likely still run. One host lost is never a
 * meltdown, whatever the cluster's size. Pure.
 */
export function hostLossHolds(hosts: readonly HostView[], maxLostPercent: number): boolean {
  const admitted = hosts.filter((h) => h.member !== null);
  const lost = admitted.filter((h) => h.state === 'lost').length;
  return lost > 1 && lost * 100 > admitted.length * maxLostPercent;
}
