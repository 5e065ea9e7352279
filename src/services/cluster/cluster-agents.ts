import { assignmentChanges } from '../../core/cluster/assign.js';
import { hostViews } from '../../core/cluster/hosts.js';
import { hostLossHolds, observedOf, type ClusterPicture } from '../../core/cluster/observed.js';
import type { FleetNote } from '../../core/fleet/record.js';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import { rulesOf } from '../../core/placement/rules.js';
import type { PlacementRules } from '../../core/placement/types.js';
import type { HostView } from '../../domain/cluster.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import type { ControlCoordination, Leadership } from '../../ports/coordination.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import type { AgentApi } from '../controller/index.js';
import { inParallel } from '../registry/in-parallel.js';
import { WatchedPicture } from './watched-picture.js';

export interface ClusterAgentsDeps {
  readonly control: ControlCoordination;
  readonly leadership: Leadership;
  readonly fleets: FleetStore;
  readonly record: (event: LedgerEntryDraft) => void;
  readonly now: () => number;
  /** Host losses above this share (and above one host) hold replacements (default 20). */
  readonly maxLostPercent?: number;
  /** Addresses of a host's instance subnet (default 253, a /24). */
  readonly addressesPerHost?: number;
  readonly actor: string;
}

/**
 * The hosts of a cluster, seen by the controller as one agent (the `AgentApi` seam the
 * single-host server fills with its local agent): observe() is what every host reports, apply()
 * places the desired instances on hosts and writes each host's assignments, fenced by the
 * leader's epoch. The controller above is the same code as on one host.
 *
 * It keeps the cluster in memory for the term (WatchedPicture): listed at the term's first
 * pass, then followed by watches, with the leader's own writes entered as etcd confirms them;
 * a new term lists again.
 */
export class ClusterAgents implements AgentApi {
  private readonly watched: WatchedPicture;
  private picture: ClusterPicture | null = null;
  /** What observe() returned, and from which picture. */
  private observed: { readonly from: ClusterPicture; readonly list: ObservedInstance[] } | null =
    null;
  private holding = false;
  private notedLost = new Set<string>();
  private lost = new Set<string>();
  private reasons = new Map<string, string[]>();

  constructor(private readonly deps: ClusterAgentsDeps) {
    this.watched = new WatchedPicture(deps.control);
  }

  /** Full listings of the cluster this term, and folders a watch re-listed (compaction). */
  listings(): { readonly listed: number; readonly relisted: number } {
    return this.watched.listings;
  }

  /** Stop following the cluster (the term is over). */
  close(): Promise<void> {
    return this.watched.close();
  }

  /** Why instances of a fleet wait (fits nowhere, a move waits for the old host), this pass. */
  reasonsOf(fleet: string): readonly string[] {
    return this.reasons.get(fleet) ?? [];
  }

  /** The last picture read (hosts, status, assignments), or null before the first pass. */
  last(): ClusterPicture | null {
    return this.picture;
  }

  /** What the last pass saw, without reading or recording anything (for the API). */
  view(): ObservedInstance[] | null {
    return this.picture && observedOf(this.picture, this.holding);
  }

  async observe(): Promise<ObservedInstance[]> {
    const picture = await this.read();
    const observed = observedOf(picture, this.holding);
    this.observed = { from: picture, list: observed };
    await this.noteLost(picture, observed);
    return observed;
  }

  /**
   * Each instance given up with its host, once, in its fleet's history and the ledger: the
   * planner sees it stopped and replaces it under a new name (its own cause, "gone", records
   * nothing).
   */
  private async noteLost(
    picture: ClusterPicture,
    observed: readonly ObservedInstance[],
  ): Promise<void> {
    const lost = new Set(picture.hosts.filter((h) => h.state === 'lost').map((h) => h.name));
    const now = new Set<string>();
    for (const i of observed) {
      if (i.host === undefined || !lost.has(i.host) || i.reason !== `host ${i.host} is lost`)
        continue;
      now.add(i.id);
      if (this.notedLost.has(i.id)) continue;
      await this.deps.fleets.note({
        fleet: i.fleet,
        time: this.deps.now(),
        kind: 'host-lost',
        ledgerKind: 'instance-replaced',
        summary: `${i.id} is replaced: its host ${i.host} is lost`,
        actor: 'controller',
        instance: i.id,
        subjects: [i.artifact],
        detail: {
          cause: 'host-lost',
          host: i.host,
          ...(i.release !== undefined && { release: i.release }),
        },
      });
    }
    this.notedLost = now;
  }

  async apply(desired: readonly DesiredInstance[]): Promise<ObservedInstance[]> {
    const picture = this.picture ?? (await this.read());
    await this.admit(picture.hosts);
    const fleets = new Map((await this.deps.fleets.fleets()).map((f) => [f.name, f]));
    const rules = new Map<string, PlacementRules>();
    const rulesOfFleet = (fleet: string): PlacementRules => {
      let r = rules.get(fleet);
      if (!r) {
        const spec = fleets.get(fleet)?.spec.placement;
        try {
          r = rulesOf(spec);
        } catch {
          // A kept spec whose rules no longer parse places as if it had none; deploy refuses new ones.
          r = { constraints: [] };
        }
        rules.set(fleet, r);
      }
      return r;
    };
    const decision = assignmentChanges({
      desired,
      hosts: picture.hosts,
      status: picture.status,
      current: picture.assignments,
      rulesOf: rulesOfFleet,
      addressesPerHost: this.deps.addressesPerHost ?? 253,
      holdLost: this.holding,
    });
    const reasons = new Map<string, string[]>();
    const add = (fleet: string, why: string) =>
      reasons.set(fleet, [...(reasons.get(fleet) ?? []), why]);
    for (const u of decision.unplaceable) add(u.fleet, `${u.instance} fits nowhere: ${u.message}`);
    const fleetOf = new Map(desired.map((d) => [d.id, d.fleet]));
    for (const w of decision.waiting)
      add(fleetOf.get(w.id) ?? '', `${w.id} moves to ${w.host} once ${w.on} has stopped it`);
    this.reasons = reasons;
    // Nothing written: what observe() made of the same picture.
    if (decision.changes.size === 0 && this.observed?.from === picture) return this.observed.list;
    // Each host's change is its own fenced transaction, independent of the others': written
    // a few at a time, a pass that places on 200 hosts waits for etcd's commits in batches
    // instead of one after the other. What etcd confirmed is in memory at once; a write that
    // failed may still have landed (a timeout), so the next pass lists the cluster again.
    try {
      await inParallel([...decision.changes], WRITES_AT_ONCE, async ([host, change]) => {
        const revision = await this.deps.leadership.writeAssignments(host, change);
        this.watched.wroteAssignments(host, change, revision);
      });
    } catch (err) {
      this.watched.doubt('a write of assignments failed');
      throw err;
    } finally {
      this.picture = { ...picture, assignments: this.watched.assigned() };
    }
    return observedOf(this.picture, this.holding);
  }

  /** Hosts, status and assignments, from memory; the host-loss guard judged on them. */
  private async read(): Promise<ClusterPicture> {
    const picture = await this.watched.picture();
    await this.judgeLosses(picture.hosts, picture);
    this.picture = picture;
    return picture;
  }

  /** Hosts lost and back, in the ledger; the guard entered or left, in each fleet's history. */
  private async judgeLosses(hosts: readonly HostView[], picture: ClusterPicture): Promise<void> {
    const { record, now, actor } = this.deps;
    const lost = new Set(hosts.filter((h) => h.state === 'lost').map((h) => h.name));
    for (const h of lost)
      if (!this.lost.has(h))
        record({
          time: now(),
          actor,
          kind: 'host',
          subjects: [],
          detail: { host: h, state: 'lost' },
        });
    for (const h of this.lost)
      if (!lost.has(h) && hosts.some((x) => x.name === h))
        record({
          time: now(),
          actor,
          kind: 'host',
          subjects: [],
          detail: { host: h, state: 'back' },
        });
    this.lost = lost;
    const holding = hostLossHolds(hosts, this.deps.maxLostPercent ?? MAX_LOST_PERCENT);
    if (holding === this.holding) return;
    this.holding = holding;
    const admitted = hosts.filter((h) => h.member !== null).length;
    const summary = holding
      ? `${lost.size} of ${admitted} hosts lost at once (${[...lost].sort().join(', ')}): more likely the network than the hosts, so their instances are not replaced`
      : `hosts lost: ${lost.size} of ${admitted}; replacing resumes`;
    for (const fleet of fleetsOn(picture, lost)) {
      const note: FleetNote = {
        fleet,
        time: now(),
        kind: holding ? 'meltdown' : 'meltdown-over',
        summary,
        actor: 'controller',
        detail: { lostHosts: [...lost].sort(), hosts: admitted },
      };
      await this.deps.fleets.note(note);
    }
  }

  /** Hosts that registered and that no leader admitted yet become members. */
  private async admit(hosts: readonly HostView[]): Promise<void> {
    for (const h of hosts)
      if (h.state === 'unadmitted') {
        let revision: number;
        try {
          revision = await this.deps.leadership.admitHost(h.name);
        } catch (err) {
          this.watched.doubt('admitting a host failed');
          throw err;
        }
        this.watched.admitted(h.name, revision, new Date(this.deps.now()).toISOString());
        this.deps.record({
          time: this.deps.now(),
          actor: this.deps.actor,
          kind: 'host',
          subjects: [],
          detail: { host: h.name, state: 'admitted', labels: h.registration?.labels ?? {} },
        });
      }
  }
}

/**
 * Hosts, status and every host's assignments, as etcd has them now, as of one revision (a
 * standby's view, read when asked: a standby follows nothing).
 */
export async function readPicture(control: ControlCoordination): Promise<ClusterPicture> {
  const listing = await control.listCluster();
  const assignments = new Map<string, Map<string, DesiredInstance>>();
  for (const e of listing.assignments.entries) {
    const mine = assignments.get(e.host) ?? new Map<string, DesiredInstance>();
    mine.set(e.id, e.value.instance);
    assignments.set(e.host, mine);
  }
  return {
    hosts: hostViews(
      listing.members.entries.map((e) => e.value),
      listing.registrations.entries.map((e) => e.value),
    ),
    status: groupByHost(listing.status.entries),
    assignments,
  };
}

/**
 * What runs, as a standby answers the API: etcd now, judged as the leader judges it (the
 * host-loss guard included: while it holds, a lost host's instances are shown as the host last
 * reported them, not stopped), so that every server tells the same story.
 */
export async function standbyView(
  control: ControlCoordination,
  maxLostPercent = MAX_LOST_PERCENT,
): Promise<ObservedInstance[]> {
  const picture = await readPicture(control);
  return observedOf(picture, hostLossHolds(picture.hosts, maxLostPercent));
}

/** Host losses above this share (and above one host) hold replacements. */
const MAX_LOST_PERCENT = 20;

/** Host changes written at once (each its own fenced etcd transaction). */
const WRITES_AT_ONCE = 16;

function groupByHost(
  entries: readonly { readonly host: string; readonly value: ObservedInstance }[],
): Map<string, ObservedInstance[]> {
  const byHost = new Map<string, ObservedInstance[]>();
  for (const e of entries) {
    const list = byHost.get(e.host) ?? [];
    list.push(e.value);
    byHost.set(e.host, list);
  }
  return byHost;
}

/** Fleets with instances assigned to (or reported by) these hosts. */
function fleetsOn(picture: ClusterPicture, hosts: ReadonlySet<string>): string[] {
  const fleets = new Set<string>();
  for (const h of hosts) {
    for (const d of picture.assignments.get(h)?.values() ?? []) fleets.add(d.fleet);
    for (const i of picture.status.get(h) ?? []) fleets.add(i.fleet);
  }
  return [...fleets].sort();
}
