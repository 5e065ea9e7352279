import { hostViews } from '../../core/cluster/hosts.js';
import { Mirror, type MirrorEntry } from '../../core/cluster/mirror.js';
import type { ClusterPicture } from '../../core/cluster/observed.js';
import type { Assignment, HostRegistration, HostView, MemberRecord } from '../../domain/cluster.js';
import { IngotError } from '../../domain/errors.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import type {
  AssignmentChange,
  ControlCoordination,
  Listing,
  Watch,
  WatchHandler,
} from '../../ports/coordination.js';

/** One folder followed: its copy in memory and the watch that feeds it. */
interface Followed {
  readonly mirror: Pick<Mirror<unknown>, 'caughtUp'>;
  readonly watch: Watch;
}

/**
 * The cluster as the leader sees it (hosts, their status, their assignments), kept in memory
 * for one term: listed once as of one revision, then followed by a watch on each folder from
 * the revision after, instead of listed again every pass.
 *
 * When it lists again (the whole cluster, as of one revision), instead of trusting memory:
 * - at the first pass of a term: a new leader starts from what etcd holds once it leads, never
 *   from what a standby or an earlier term believed (a term has its own WatchedPicture);
 * - after a watch ended for good (denied, closed), or while one is not attached: its stream is
 *   down or it is re-listing, so changes may be waiting and memory may be behind by any amount
 *   (the listing fails too if etcd is out of reach, and the pass with it, as before);
 * - after a write of the leader's whose outcome is unknown (it timed out, and may have landed).
 * A watch whose revision was compacted away lists its folder again itself (`relisted`).
 *
 * Never older than the leader's own writes: a write etcd confirmed is entered at once, with
 * the revision etcd gave it (core/cluster/mirror.ts); the watch's copy of it, later, changes
 * nothing. What hosts write (registrations, status) arrives with the watch's delay, a few
 * milliseconds behind etcd while it is attached: the same as a listing read a moment earlier,
 * and every rule of placement errs to the safe side on older status (an instance still shown
 * running on its old host holds its move; a host still shown running what it was not assigned
 * takes no new work).
 *
 * Memory: what etcd holds in these folders, and at most a tombstone per key the leader deleted
 * since its watch last delivered a change.
 */
export class WatchedPicture {
  private readonly members = new Mirror<MemberRecord>();
  private readonly registrations = new Mirror<HostRegistration>();
  private readonly assignments = new Mirror<DesiredInstance>();
  private readonly status = new Mirror<ObservedInstance>();
  private followed: Followed[] = [];
  /** Why memory is not trusted now; null while every watch follows. */
  private stale: string | null = 'not listed yet';
  private listing: Promise<void> | null = null;
  /** Events of watches from before the last listing are ignored. */
  private generation = 0;
  private closed = false;
  private hostsMemo: {
    members: unknown;
    registrations: unknown;
    hosts: readonly HostView[];
  } | null = null;
  private statusMemo: {
    from: unknown;
    status: ReadonlyMap<string, readonly ObservedInstance[]>;
  } | null = null;
  private readonly statusLists = new WeakMap<
    ReadonlyMap<string, ObservedInstance>,
    readonly ObservedInstance[]
  >();
  private counts = { listed: 0, relisted: 0 };

  constructor(private readonly control: ControlCoordination) {}

  /** How often the whole cluster was listed, and a folder re-listed by its watch. */
  get listings(): { readonly listed: number; readonly relisted: number } {
    return { ...this.counts };
  }

  /** The cluster now: from memory, or listed first when memory cannot be trusted (above). */
  async picture(): Promise<ClusterPicture> {
    if (this.closed)
      throw new IngotError('E_CLUSTER_CLOSED', "reading the cluster: this term's view is closed");
    if (this.stale === null && this.followed.some((f) => !f.watch.attached))
      this.stale = 'a watch is not attached';
    while (this.stale !== null) {
      await (this.listing ??= this.list());
      if (this.closed)
        throw new IngotError('E_CLUSTER_CLOSED', "reading the cluster: this term's view is closed");
    }
    // Every change before a watch's `next` was delivered: tombstones before it can go.
    for (const f of this.followed) f.mirror.caughtUp(f.watch.next - 1);
    return this.snapshot();
  }

  /** Each host's assignments now, own writes included (a snapshot). */
  assigned(): ReadonlyMap<string, ReadonlyMap<string, DesiredInstance>> {
    return this.assignments.byHost();
  }

  /** The leader's write of a host's assignments, confirmed by etcd at `revision`. */
  wroteAssignments(host: string, change: AssignmentChange, revision: number): void {
    for (const id of change.remove ?? [])
      this.assignments.wrote({ kind: 'delete', host, id, revision });
    for (const d of change.put ?? [])
      this.assignments.wrote({ kind: 'put', host, id: d.id, value: d, revision });
  }

  /**
   * The leader admitted a host, confirmed at `revision`. The record's time is this server's
   * estimate until the watch delivers etcd's (only `ingot hosts` shows it, from a listing).
   */
  admitted(host: string, revision: number, admittedAt: string): void {
    this.members.wrote({
      kind: 'put',
      host,
      id: host,
      value: { name: host, admittedAt },
      revision,
    });
  }

  /** A write of the leader's may or may not have landed: list again before the next pass. */
  doubt(why: string): void {
    this.stale ??= why;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    const followed = this.followed;
    this.followed = [];
    await Promise.allSettled(followed.map((f) => f.watch.close()));
  }

  /** Stop the watches, list everything as of one revision, watch each folder from after it. */
  private async list(): Promise<void> {
    const generation = ++this.generation;
    try {
      const old = this.followed;
      this.followed = [];
      await Promise.allSettled(old.map((f) => f.watch.close()));
      const listing = await this.control.listCluster();
      this.counts.listed++;
      this.members.listed(
        listing.revision,
        entries(listing.members, (v) => v),
      );
      this.registrations.listed(
        listing.revision,
        entries(listing.registrations, (v) => v),
      );
      this.assignments.listed(
        listing.revision,
        entries(listing.assignments, (v) => v.instance),
      );
      this.status.listed(
        listing.revision,
        entries(listing.status, (v) => v),
      );
      const from = listing.revision + 1;
      const control = this.control;
      const started = await Promise.allSettled([
        this.follow(
          this.members,
          (h) => control.watchMembers(from, h),
          (v) => v,
          generation,
        ),
        this.follow(
          this.registrations,
          (h) => control.watchHosts(from, h),
          (v) => v,
          generation,
        ),
        this.follow(
          this.assignments,
          (h) => control.watchAssignments(from, h),
          (v: Assignment) => v.instance,
          generation,
        ),
        this.follow(
          this.status,
          (h) => control.watchStatus(from, h),
          (v) => v,
          generation,
        ),
      ]);
      const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const failed = started.find((s) => s.status === 'rejected');
      if (failed || this.closed || generation !== this.generation) {
        await Promise.allSettled(ok.map((f) => f.watch.close()));
        if (failed) throw failed.reason;
        return;
      }
      this.followed = ok;
      this.stale = null;
    } finally {
      this.listing = null;
    }
  }

  private async follow<V, T>(
    mirror: Mirror<T>,
    watch: (handler: WatchHandler<V>) => Promise<Watch>,
    project: (value: V) => T,
    generation: number,
  ): Promise<Followed> {
    const current = () => generation === this.generation;
    const w = await watch({
      event: (e) => {
        if (!current()) return;
        switch (e.kind) {
          case 'put': {
            const { host, id, value, modRevision } = e.entry;
            mirror.changed({ kind: 'put', host, id, value: project(value), revision: modRevision });
            return;
          }
          case 'delete':
            mirror.changed({ kind: 'delete', host: e.host, id: e.id, revision: e.revision });
            return;
          case 'invalid':
            // The key now holds nothing usable: a listing would leave it out.
            if (e.at) mirror.changed({ kind: 'delete', ...e.at, revision: e.revision });
            return;
          case 'relisted':
            this.counts.relisted++;
            mirror.listed(e.listing.revision, entries(e.listing, project));
            return;
        }
      },
      failed: (err) => {
        if (current()) this.stale = `a watch ended (${err.code})`;
      },
    });
    return { mirror, watch: w };
  }

  private snapshot(): ClusterPicture {
    return { hosts: this.hosts(), status: this.statusByHost(), assignments: this.assigned() };
  }

  /** Hosts as hostViews makes them, again only when members or registrations changed. */
  private hosts(): readonly HostView[] {
    const members = this.members.byHost();
    const registrations = this.registrations.byHost();
    const memo = this.hostsMemo;
    if (memo?.members === members && memo.registrations === registrations) return memo.hosts;
    const hosts = hostViews(values(members), values(registrations));
    this.hostsMemo = { members, registrations, hosts };
    return hosts;
  }

  /** Each host's status as a list, made again only for hosts whose status changed. */
  private statusByHost(): ReadonlyMap<string, readonly ObservedInstance[]> {
    const byHost = this.status.byHost();
    if (this.statusMemo?.from === byHost) return this.statusMemo.status;
    const status = new Map<string, readonly ObservedInstance[]>();
    for (const [host, mine] of byHost) {
      let list = this.statusLists.get(mine);
      if (!list) this.statusLists.set(mine, (list = [...mine.values()]));
      status.set(host, list);
    }
    this.statusMemo = { from: byHost, status };
    return status;
  }
}

function entries<V, T>(listing: Listing<V>, project: (value: V) => T): MirrorEntry<T>[] {
  return listing.entries.map((e) => ({
    host: e.host,
    id: e.id,
    value: project(e.value),
    modRevision: e.modRevision,
  }));
}

function values<T>(byHost: ReadonlyMap<string, ReadonlyMap<string, T>>): T[] {
  const out: T[] = [];
  for (const mine of byHost.values()) out.push(...mine.values());
  return out;
}
