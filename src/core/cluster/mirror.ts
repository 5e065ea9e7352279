/**
 * A copy in memory of one folder of the coordination store (members, registrations,
 * assignments or status), kept from a listing and the changes after it, so that the leader
 * reads the cluster from memory instead of listing every key again each pass. Deterministic,
 * no I/O: whoever owns the listing and the watch feeds them in.
 *
 * Every value is held with the revision that made it, and a newer revision always wins,
 * whichever way it came:
 * - a listing at revision L is every key as of L, and a key it lacks was deleted by L;
 * - a watch hands over each change, in revision order;
 * - the leader also enters its own writes as soon as etcd confirmed them (with the revision
 *   etcd answered, which is the change's or later), before its watch delivers them: a pass
 *   must never plan on a view older than what this leader itself wrote (it would place an
 *   instance again somewhere else while its host starts it). The watch's late copy of that
 *   write carries an older or equal revision and changes nothing; a delete it made itself
 *   leaves a tombstone so that a late put from before it cannot bring the key back.
 *
 * Tombstones are dropped once the watch (or a listing) has passed their revision: nothing
 * older can arrive after that. So the mirror holds what etcd holds in the folder, plus at
 * most one tombstone per key this process deleted since the last change the watch delivered.
 */

/** Where a value sits: its host, and its instance (or, for a host's own record, its name). */
export interface MirrorKey {
  readonly host: string;
  readonly id: string;
}

/** One change to the folder: a value put, or a key deleted, at a revision. */
export type MirrorChange<T> =
  | (MirrorKey & { readonly kind: 'put'; readonly value: T; readonly revision: number })
  | (MirrorKey & { readonly kind: 'delete'; readonly revision: number });

/** One value of a listing, with the revision that last changed it. */
export interface MirrorEntry<T> extends MirrorKey {
  readonly value: T;
  readonly modRevision: number;
}

interface Held<T> {
  readonly value: T;
  readonly revision: number;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class Mirror<T> {
  private readonly hosts = new Map<string, Map<string, Held<T>>>();
  private readonly tombstones = new Map<string, Map<string, number>>();
  /** The same tombstones in the order they were made, for dropping them as the watch passes. */
  private readonly buried: { host: string; id: string; revision: number }[] = [];
  private firstBuried = 0;
  /** Each host's values as last handed out; dropped when the host changes. */
  private readonly views = new Map<string, ReadonlyMap<string, T>>();
  private whole: ReadonlyMap<string, ReadonlyMap<string, T>> | null = null;
  private seen = 0;
  private changes = 0;

  /** The highest revision seen from a listing or the watch (not from this process's writes). */
  get revision(): number {
    return this.seen;
  }

  /** Grows with every change that altered a value: equal counts, equal contents. */
  get version(): number {
    return this.changes;
  }

  /** Tombstones held (for tests and memory accounting). */
  get tombstoneCount(): number {
    let n = 0;
    for (const t of this.tombstones.values()) n += t.size;
    return n;
  }

  /**
   * The folder as of `revision`. What is newer than the listing (a write of this process
   * confirmed after the listing was read) stays; everything else is replaced by it.
   */
  listed(revision: number, entries: readonly MirrorEntry<T>[]): void {
    const listed = new Map<string, Map<string, MirrorEntry<T>>>();
    for (const e of entries) {
      let mine = listed.get(e.host);
      if (!mine) listed.set(e.host, (mine = new Map<string, MirrorEntry<T>>()));
      mine.set(e.id, e);
    }
    // A held key the listing lacks was deleted by `revision`, unless it is newer.
    for (const [host, held] of this.hosts)
      for (const [id, h] of held)
        if (h.revision <= revision && !listed.get(host)?.has(id))
          this.set(host, id, undefined, revision);
    for (const e of entries) this.apply(e.host, e.id, e.value, e.modRevision);
    this.passed(revision, revision + 1);
  }

  /** A change the watch delivered; changes arrive in revision order. */
  changed(change: MirrorChange<T>): void {
    const value = change.kind === 'put' ? change.value : undefined;
    this.apply(change.host, change.id, value, change.revision);
    // Other changes of the same revision (one transaction) may follow, none older.
    this.passed(change.revision, change.revision);
  }

  /** Every change up to `revision` was delivered (the watch waits for the next one). */
  caughtUp(revision: number): void {
    this.passed(revision, revision + 1);
  }

  /**
   * A change this process made and etcd confirmed at `change.revision` (for a write split
   * into several transactions, the last one's: no other writer touches these keys between).
   */
  wrote(change: MirrorChange<T>): void {
    const value = change.kind === 'put' ? change.value : undefined;
    if (this.apply(change.host, change.id, value, change.revision) && value === undefined)
      this.bury(change.host, change.id, change.revision);
  }

  /** Each host's values by id (hosts and ids sorted); later changes do not show in it. */
  byHost(): ReadonlyMap<string, ReadonlyMap<string, T>> {
    if (this.whole) return this.whole;
    const whole = new Map<string, ReadonlyMap<string, T>>();
    for (const host of [...this.hosts.keys()].sort(byKey)) {
      let view = this.views.get(host);
      if (!view) {
        const held = this.hosts.get(host)!;
        view = new Map([...held.keys()].sort(byKey).map((id) => [id, held.get(id)!.value]));
        this.views.set(host, view);
      }
      whole.set(host, view);
    }
    return (this.whole = whole);
  }

  /** The value now and the revision that made it (tests). */
  held(host: string, id: string): { value: T; revision: number } | undefined {
    return this.hosts.get(host)?.get(id);
  }

  /** Set or delete if `revision` is not older than what is known of the key; whether it was. */
  private apply(host: string, id: string, value: T | undefined, revision: number): boolean {
    const known = this.hosts.get(host)?.get(id)?.revision ?? this.tombstones.get(host)?.get(id);
    if (known !== undefined && revision < known) return false;
    this.set(host, id, value, revision);
    return true;
  }

  private set(host: string, id: string, value: T | undefined, revision: number): void {
    const tomb = this.tombstones.get(host);
    if (tomb?.delete(id) && tomb.size === 0) this.tombstones.delete(host);
    let held = this.hosts.get(host);
    if (value === undefined) {
      if (!held?.delete(id)) return;
      if (held.size === 0) this.hosts.delete(host);
    } else {
      if (!held) this.hosts.set(host, (held = new Map<string, Held<T>>()));
      const before = held.get(id);
      held.set(id, { value, revision });
      if (before !== undefined && before.value === value) return;
    }
    this.views.delete(host);
    this.whole = null;
    this.changes++;
  }

  private bury(host: string, id: string, revision: number): void {
    let tomb = this.tombstones.get(host);
    if (!tomb) this.tombstones.set(host, (tomb = new Map<string, number>()));
    tomb.set(id, revision);
    this.buried.push({ host, id, revision });
  }

  /**
   * The watch or a listing reached `seen`, and nothing older than `below` can arrive any more:
   * tombstones before it go. They go in the order they were made, which is nearly revision
   * order (writes to several hosts at once may be confirmed out of order): one made later with
   * an older revision waits for the ones before it, which only keeps it a little longer.
   */
  private passed(seen: number, below: number): void {
    this.seen = Math.max(this.seen, seen);
    while (this.firstBuried < this.buried.length) {
      const t = this.buried[this.firstBuried]!;
      if (t.revision >= below) break;
      this.firstBuried++;
      const tomb = this.tombstones.get(t.host);
      // Only if it is still that tombstone (not one made again later, nor a key put since).
      if (tomb?.get(t.id) === t.revision) {
        tomb.delete(t.id);
        if (tomb.size === 0) this.tombstones.delete(t.host);
      }
    }
    if (this.firstBuried === this.buried.length) {
      this.buried.length = 0;
      this.firstBuried = 0;
    } else if (this.firstBuried > 1024 && this.firstBuried * 2 > this.buried.length) {
      this.buried.splice(0, this.firstBuried);
      this.firstBuried = 0;
    }
  }
}
