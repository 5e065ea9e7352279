import { describe, expect, it } from 'vitest';
import type { Assignment, HostRegistration, MemberRecord } from '../../domain/cluster.js';
import type { Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import type {
  ClusterListing,
  ControlCoordination,
  Entry,
  Listing,
  Watch,
  WatchHandler,
} from '../../ports/coordination.js';
import { WatchedPicture } from './watched-picture.js';

// When the picture lists again and how it takes events; that the events themselves make the
// folder a listing would show is core/cluster/mirror.test.ts's, and that it follows a real
// etcd is test/cluster-picture.test.ts's.

const ARTIFACT = `sha256:${'a'.repeat(64)}` as Digest;
const SINCE = '2026-12-05T00:00:00.000Z';

const member = (name: string): MemberRecord => ({ name, admittedAt: SINCE });
const registration = (name: string): HostRegistration => ({
  name,
  labels: {},
  capacity: { memoryBytes: 1, cpus: 1, pids: 1 },
  agent: 'test',
  startedAt: SINCE,
});
const desired = (id: string): DesiredInstance => ({ id, fleet: 'web', artifact: ARTIFACT });
const status = (host: string, id: string, state: ObservedInstance['state']): ObservedInstance => ({
  id,
  fleet: 'web',
  artifact: ARTIFACT,
  state,
  host,
});

class FakeWatch<T> implements Watch {
  next: number;
  attached = true;
  closed = false;
  constructor(
    from: number,
    readonly handler: WatchHandler<T>,
  ) {
    this.next = from;
  }
  close(): Promise<void> {
    this.closed = true;
    this.attached = false;
    return Promise.resolve();
  }
}

const entry = <T>(host: string, id: string, value: T, modRevision: number): Entry<T> => ({
  host,
  id,
  value,
  modRevision,
});
const listing = <T>(revision: number, entries: Entry<T>[]): Listing<T> => ({
  revision,
  entries,
  invalid: [],
});

/** The control plane as the picture uses it: a listing to hand out, and the watches made. */
class FakeControl {
  revision = 10;
  listed = 0;
  failNextListing = false;
  members: Entry<MemberRecord>[] = [entry('h1', 'h1', member('h1'), 2)];
  registrations: Entry<HostRegistration>[] = [entry('h1', 'h1', registration('h1'), 3)];
  assignments: Entry<Assignment>[] = [entry('h1', 'a', { instance: desired('a'), epoch: 1 }, 4)];
  status: Entry<ObservedInstance>[] = [entry('h1', 'a', status('h1', 'a', 'healthy'), 5)];
  readonly watches = {
    members: [] as FakeWatch<MemberRecord>[],
    hosts: [] as FakeWatch<HostRegistration>[],
    assignments: [] as FakeWatch<Assignment>[],
    status: [] as FakeWatch<ObservedInstance>[],
  };

  listCluster(): Promise<ClusterListing> {
    if (this.failNextListing) {
      this.failNextListing = false;
      return Promise.reject(new IngotError('E_CLUSTER_UNAVAILABLE', 'etcd did not answer'));
    }
    this.listed++;
    const r = this.revision;
    return Promise.resolve({
      revision: r,
      members: listing(r, this.members),
      registrations: listing(r, this.registrations),
      assignments: listing(r, this.assignments),
      status: listing(r, this.status),
    });
  }

  watchMembers(from: number, h: WatchHandler<MemberRecord>): Promise<Watch> {
    return this.made(this.watches.members, new FakeWatch(from, h));
  }
  watchHosts(from: number, h: WatchHandler<HostRegistration>): Promise<Watch> {
    return this.made(this.watches.hosts, new FakeWatch(from, h));
  }
  watchAssignments(from: number, h: WatchHandler<Assignment>): Promise<Watch> {
    return this.made(this.watches.assignments, new FakeWatch(from, h));
  }
  watchStatus(from: number, h: WatchHandler<ObservedInstance>): Promise<Watch> {
    return this.made(this.watches.status, new FakeWatch(from, h));
  }

  private made<T>(list: FakeWatch<T>[], w: FakeWatch<T>): Promise<Watch> {
    list.push(w);
    return Promise.resolve(w);
  }

  /** The latest watch of each folder. */
  get status$(): FakeWatch<ObservedInstance> {
    return this.watches.status.at(-1)!;
  }
  get assignments$(): FakeWatch<Assignment> {
    return this.watches.assignments.at(-1)!;
  }
  get hosts$(): FakeWatch<HostRegistration> {
    return this.watches.hosts.at(-1)!;
  }
}

function picturing(): { control: FakeControl; picture: WatchedPicture } {
  const control = new FakeControl();
  return {
    control,
    picture: new WatchedPicture(control as unknown as ControlCoordination),
  };
}

const ids = (m: ReadonlyMap<string, ReadonlyMap<string, unknown>> | undefined, host: string) => [
  ...(m?.get(host)?.keys() ?? []),
];
const states = (p: { status: ReadonlyMap<string, readonly ObservedInstance[]> }, host: string) =>
  (p.status.get(host) ?? []).map((i) => `${i.id}:${i.state}`);

describe('WatchedPicture', () => {
  it('lists once, then follows each folder from the revision after the listing', async () => {
    const { control, picture } = picturing();
    const first = await picture.picture();
    expect(first.hosts.map((h) => `${h.name}:${h.state}`)).toEqual(['h1:live']);
    expect(ids(first.assignments, 'h1')).toEqual(['a']);
    expect(states(first, 'h1')).toEqual(['a:healthy']);
    expect(control.status$.next).toBe(11);

    control.status$.handler.event({
      kind: 'put',
      entry: entry('h1', 'a', status('h1', 'a', 'stopped'), 11),
    });
    control.hosts$.handler.event({ kind: 'delete', host: 'h1', id: 'h1', revision: 12 });
    const second = await picture.picture();
    expect(states(second, 'h1')).toEqual(['a:stopped']);
    expect(second.hosts.map((h) => `${h.name}:${h.state}`)).toEqual(['h1:lost']);
    expect(control.listed).toBe(1);
    expect(picture.listings).toEqual({ listed: 1, relisted: 0 });
  });

  it("shows the leader's confirmed writes at once; the watch's late copy of an earlier one does not undo a later one", async () => {
    const { control, picture } = picturing();
    await picture.picture();
    picture.wroteAssignments('h1', { put: [desired('b')] }, 11);
    picture.wroteAssignments('h1', { remove: ['b'] }, 12);
    picture.admitted('h2', 13, SINCE);
    expect(ids((await picture.picture()).assignments, 'h1')).toEqual(['a']);
    control.assignments$.handler.event({
      kind: 'put',
      entry: entry('h1', 'b', { instance: desired('b'), epoch: 1 }, 11),
    });
    expect(ids((await picture.picture()).assignments, 'h1')).toEqual(['a']);
    expect((await picture.picture()).hosts.map((h) => `${h.name}:${h.state}`)).toEqual([
      'h1:live',
      'h2:lost', // admitted, not registered (yet)
    ]);
  });

  it('lists again when a watch is not attached (its stream is down: memory may be behind)', async () => {
    const { control, picture } = picturing();
    await picture.picture();
    const old = control.status$;
    old.attached = false;
    control.status = [];
    control.revision = 20;
    const p = await picture.picture();
    expect(control.listed).toBe(2);
    expect(states(p, 'h1')).toEqual([]);
    expect(old.closed).toBe(true);
    expect(control.status$.next).toBe(21);
    // An event of the old watch, too late, changes nothing.
    old.handler.event({ kind: 'put', entry: entry('h1', 'z', status('h1', 'z', 'healthy'), 19) });
    expect(states(await picture.picture(), 'h1')).toEqual([]);
  });

  it('lists again after a watch ended for good, and after a write whose outcome is unknown', async () => {
    const { control, picture } = picturing();
    await picture.picture();
    control.status$.handler.failed?.(new IngotError('E_CLUSTER_DENIED', 'refused'));
    await picture.picture();
    expect(control.listed).toBe(2);
    picture.doubt('a write timed out');
    await picture.picture();
    expect(control.listed).toBe(3);
    await picture.picture();
    expect(control.listed).toBe(3);
  });

  it('a listing that fails fails the read, and the next read lists again', async () => {
    const { control, picture } = picturing();
    control.failNextListing = true;
    await expect(picture.picture()).rejects.toMatchObject({ code: 'E_CLUSTER_UNAVAILABLE' });
    expect(ids((await picture.picture()).assignments, 'h1')).toEqual(['a']);
    expect(control.listed).toBe(1);
  });

  it('an unreadable value drops its key, as a listing would leave it out; a re-listed folder replaces it', async () => {
    const { control, picture } = picturing();
    await picture.picture();
    control.status$.handler.event({
      kind: 'invalid',
      value: { key: '"/ingot/status/h1/a"', reason: 'not UTF-8 JSON' },
      revision: 11,
      at: { host: 'h1', id: 'a' },
    });
    control.status$.handler.event({
      kind: 'invalid',
      value: { key: '"/ingot/status/h1/a/b"', reason: 'not a key of this layout' },
      revision: 12,
    });
    expect(states(await picture.picture(), 'h1')).toEqual([]);
    control.status$.handler.event({
      kind: 'relisted',
      reason: 'compacted',
      from: 13,
      listing: listing(30, [entry('h1', 'c', status('h1', 'c', 'starting'), 25)]),
    });
    expect(states(await picture.picture(), 'h1')).toEqual(['c:starting']);
    expect(picture.listings).toEqual({ listed: 1, relisted: 1 });
  });

  it('hands out the same lists while nothing changed (no copy of 10,000 statuses a pass)', async () => {
    const { control, picture } = picturing();
    const a = await picture.picture();
    const b = await picture.picture();
    expect(b.status).toBe(a.status);
    expect(b.hosts).toBe(a.hosts);
    expect(b.assignments).toBe(a.assignments);
    control.status$.handler.event({
      kind: 'put',
      entry: entry('h2', 'x', status('h2', 'x', 'healthy'), 11),
    });
    const c = await picture.picture();
    expect(c.status).not.toBe(a.status);
    expect(c.status.get('h1')).toBe(a.status.get('h1'));
    expect(c.hosts).toBe(a.hosts);
  });

  it('once closed, reads nothing and follows nothing', async () => {
    const { control, picture } = picturing();
    await picture.picture();
    await picture.close();
    expect(Object.values(control.watches).every((ws) => ws.every((w) => w.closed))).toBe(true);
    await expect(picture.picture()).rejects.toMatchObject({ code: 'E_CLUSTER_CLOSED' });
  });
});
