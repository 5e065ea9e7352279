import { assignmentChanges } from '../../core/cluster/assign.js';
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
 * It keeps each host's assignments in memory for the term: the leader is their only writer,
 * and a new term reads them again. Status and hosts are read every pass.
 */
export class ClusterAgents implements AgentApi {
  private assignments: Map<string, Map<string, DesiredInstance>> | null = null;
  private picture: ClusterPicture | null = null;
  private holding = false;
  private notedLost = new Set<string>();
  private lost = new Set<string>();
  private reasons = new Map<string, string[]>();

  constructor(private readonly deps: ClusterAgentsDeps) {}

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
    const assignments = this.assignments!;
    // Each host's change is its own fenced transaction, independent of the others': written
    // a few at a time, a pass that places on 200 hosts waits for etcd's commits in batches
    // instead of one after the other. Only what was written is remembered.
    await inParallel([...decision.changes], WRITES_AT_ONCE, async ([host, change]) => {
      await this.deps.leadership.writeAssignments(host, change);
      const mine = assignments.get(host) ?? new Map<string, DesiredInstance>();
      for (const id of change.remove) mine.delete(id);
      for (const d of change.put) mine.set(d.id, d);
      assignments.set(host, mine);
    });
    return observedOf({ ...picture, assignments }, this.holding);
  }

  /** Hosts, status and (once a term) assignments; the host-loss guard judged on them. */
  private async read(): Promise<ClusterPicture> {
    const { control } = this.deps;
    const [{ hosts }, status] = await Promise.all([control.listHosts(), control.listStatus()]);
    this.assignments ??= await readAssignments(control, hosts);
    const picture = { hosts, status: groupByHost(status.entries), assignments: this.assignments };
    await this.judgeLosses(hosts, picture);
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
    const holding = hostLossHolds(hosts, this.deps.maxLostPercent ?? 20);
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
        await this.deps.leadership.admitHost(h.name);
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

/** Hosts, status and every host's assignments, as etcd has them now (a standby's view). */
export async function readPicture(control: ControlCoordination): Promise<ClusterPicture> {
  const [{ hosts }, status] = await Promise.all([control.listHosts(), control.listStatus()]);
  const assignments = await readAssignments(control, hosts);
  return { hosts, status: groupByHost(status.entries), assignments };
}

/** Host changes written, and hosts' assignments listed, at once (each its own etcd request). */
const WRITES_AT_ONCE = 16;

/** Every host's assignments, by host, then instance id; a few hosts listed at a time. */
async function readAssignments(
  control: ControlCoordination,
  hosts: readonly HostView[],
): Promise<Map<string, Map<string, DesiredInstance>>> {
  const assignments = new Map<string, Map<string, DesiredInstance>>();
  await inParallel(hosts, WRITES_AT_ONCE, async (h) => {
    const listing = await control.listAssignments(h.name);
    assignments.set(h.name, new Map(listing.entries.map((e) => [e.id, e.value.instance])));
  });
  return assignments;
}

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
