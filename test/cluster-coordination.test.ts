import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openControlCoordination, openHostCoordination } from '../src/adapters/etcd/index.js';
import type { Assignment } from '../src/domain/cluster.js';
import type {
  ControlCoordination,
  HostCoordination,
  WatchEvent,
} from '../src/ports/coordination.js';
import { etcdProcessesLeft } from './helpers/etcd.js';
import {
  codeOf,
  instance,
  registration,
  startSecuredCluster,
  until,
  type SecuredCluster,
} from './helpers/coordination.js';

// Three real etcd members (TLS, auth on); the servers and each host use their own etcd user.
let cluster: SecuredCluster;
const opened: { close(): Promise<void> }[] = [];
const control = () => {
  const c = openControlCoordination(cluster.server);
  opened.push(c);
  return c;
};
const hostView = (name: string): HostCoordination => {
  const h = openHostCoordination(name, cluster.host(name));
  opened.push(h);
  return h;
};

beforeAll(async () => {
  const started = performance.now();
  cluster = await startSecuredCluster(['web-1', 'web-2', 'web-3', 'web-4', 'web-5']);
  console.log(
    `etcd: 3 members with TLS and auth, users made, in ${Math.round(performance.now() - started)} ms`,
  );
});

afterAll(async () => {
  await Promise.allSettled(opened.map((o) => o.close()));
  const dir = cluster?.etcd.dir;
  await cluster?.etcd.stop();
  if (dir) expect(etcdProcessesLeft(dir)).toEqual([]);
});

/** Apply watch events to a map of id → assignment, as an agent would. */
function replay(state: Map<string, Assignment>, e: WatchEvent<Assignment>): void {
  if (e.kind === 'put') state.set(e.entry.id, e.entry.value);
  else if (e.kind === 'delete') state.delete(e.id);
  else if (e.kind === 'relisted') {
    state.clear();
    for (const entry of e.listing.entries) state.set(entry.id, entry.value);
  }
}

describe('host registration', () => {
  it('is live while its lease is kept, and gone within the TTL once the keep-alive stops', async () => {
    const ctl = control();
    const leader = await ctl.campaign({ name: 'srv-reg' }, { ttlSeconds: 5 });
    const host = hostView('web-1');
    const lease = await host.register(registration('web-1', { zone: 'a' }), 2);
    await leader.admitHost('web-1');
    const before = await ctl.listHosts();
    expect(before.hosts.find((h) => h.name === 'web-1')?.state).toBe('live');

    // Keep-alives continue past several TTLs: the host stays.
    await new Promise((r) => setTimeout(r, 4_500));
    expect((await ctl.listHosts()).hosts.find((h) => h.name === 'web-1')?.state).toBe('live');

    // The agent "dies": its keep-alives stop. A watch sees the registration deleted.
    const deleted = new Promise<number>((resolve) => {
      void ctl
        .watchHosts(before.revision + 1, {
          event: (e) => {
            if (e.kind === 'delete' && e.host === 'web-1') resolve(performance.now());
          },
        })
        .then((w) => opened.push(w));
    });
    const stopped = performance.now();
    lease.release();
    const goneAfter = (await deleted) - stopped;
    const lost = await lease.lost;
    const noticedAfter = performance.now() - stopped;
    console.log(
      `host lease TTL 2 s: registration deleted ${Math.round(goneAfter)} ms after the keep-alive stopped; the agent itself gave the lease up after ${Math.round(noticedAfter)} ms`,
    );
    // The last keep-alive went out at most TTL/3 before the stop; etcd checks expiry every 0.5 s.
    expect(goneAfter).toBeGreaterThan(2_000 * (2 / 3) - 100);
    expect(goneAfter).toBeLessThan(2_000 + 1_000);
    expect(lost.code).toBe('E_CLUSTER_LEASE_LOST');
    const after = await ctl.listHosts();
    expect(after.hosts.find((h) => h.name === 'web-1')).toMatchObject({
      state: 'lost',
      registration: null,
    });
    await leader.resign();
  });

  it('is removed at once when the lease is revoked, and may come back on a new lease', async () => {
    const ctl = control();
    const host = hostView('web-2');
    const first = await host.register(registration('web-2'), 2);
    await first.revoke();
    expect((await ctl.listHosts()).hosts.find((h) => h.name === 'web-2')).toBeUndefined();
    const second = await host.register(registration('web-2'), 2);
    expect(second.id).not.toBe(first.id);
    expect((await ctl.listHosts()).hosts.find((h) => h.name === 'web-2')?.state).toBe('unadmitted');
    await second.revoke();
  });
});

describe('assignment watches', () => {
  it('see every change from a revision, in order, whether live or catching up', async () => {
    const ctl = control();
    const leader = await ctl.campaign({ name: 'srv-watch' }, { ttlSeconds: 5 });
    const host = hostView('web-3');
    const start = await host.listAssignments();
    const live: WatchEvent<Assignment>[] = [];
    opened.push(await host.watchAssignments(start.revision + 1, { event: (e) => live.push(e) }));

    // Small changes, one big one (over etcd's 128 operations per transaction), removes.
    await leader.writeAssignments('web-3', { put: [instance('a'), instance('b'), instance('c')] });
    await leader.writeAssignments('web-3', { remove: ['b'], put: [instance('a', [['V', '2']])] });
    const many = Array.from({ length: 300 }, (_, i) => instance(`m-${i}`));
    await leader.writeAssignments('web-3', { put: many });
    await leader.writeAssignments('web-3', {
      remove: many.slice(0, 150).map((d) => d.id),
    });
    const final = await host.listAssignments();

    // A watch created only now, from the same revision, replays the history etcd kept.
    const late: WatchEvent<Assignment>[] = [];
    opened.push(await host.watchAssignments(start.revision + 1, { event: (e) => late.push(e) }));
    const count = (events: WatchEvent<Assignment>[]) =>
      events.filter((e) => e.kind !== 'relisted').length;
    await until(() => count(live) >= 455 && count(late) >= 455, 10_000, 'all events');

    for (const events of [live, late]) {
      const state = new Map<string, Assignment>();
      let last = 0;
      for (const e of events) {
        const revision =
          e.kind === 'put' ? e.entry.modRevision : e.kind === 'relisted' ? 0 : e.revision;
        expect(revision).toBeGreaterThanOrEqual(last);
        last = revision;
        replay(state, e);
      }
      expect(events.some((e) => e.kind === 'relisted' || e.kind === 'invalid')).toBe(false);
      expect([...state.keys()].sort()).toEqual(final.entries.map((e) => e.id).sort());
      expect(state.get('a')?.instance.env).toEqual([['V', '2']]);
      expect(state.get('a')?.epoch).toBe(leader.epoch);
    }
    expect(final.entries).toHaveLength(2 + 150);
    await leader.resign();
  });

  it('re-list when the revision to resume from was compacted, and say so', async () => {
    const ctl = control();
    const leader = await ctl.campaign({ name: 'srv-compact' }, { ttlSeconds: 5 });
    const host = hostView('web-4');
    const old = await host.listAssignments();
    await leader.writeAssignments('web-4', { put: [instance('x'), instance('y')] });
    const revision = await leader.writeAssignments('web-4', {
      remove: ['x'],
      put: [instance('z')],
    });
    await cluster.etcd.etcdctl(['compact', String(revision), '--physical']);

    const events: WatchEvent<Assignment>[] = [];
    opened.push(await host.watchAssignments(old.revision + 1, { event: (e) => events.push(e) }));
    await until(() => events.length > 0, 10_000, 'the re-list');
    const first = events[0];
    expect(first?.kind).toBe('relisted');
    if (first?.kind !== 'relisted') return;
    expect(first.reason).toBe('compacted');
    expect(first.from).toBe(old.revision + 1);
    expect(first.listing.revision).toBeGreaterThanOrEqual(revision);
    expect(first.listing.entries.map((e) => e.id).sort()).toEqual(['y', 'z']);

    // And the watch goes on after the listing.
    await leader.writeAssignments('web-4', { remove: ['y'] });
    await until(() => events.length > 1, 5_000, 'the change after the re-list');
    expect(events[1]).toMatchObject({ kind: 'delete', host: 'web-4', id: 'y' });
    await leader.resign();
  });
});

describe('values written by another process', () => {
  it('are checked on read: a bad one is reported with why, never used, in listings and watches', async () => {
    const ctl = control();
    const leader = await ctl.campaign({ name: 'srv-hostile' }, { ttlSeconds: 5 });
    await leader.writeAssignments('web-5', { put: [instance('good')] });
    const host = hostView('web-5');
    const start = await host.listAssignments();
    const events: WatchEvent<Assignment>[] = [];
    opened.push(await host.watchAssignments(start.revision + 1, { event: (e) => events.push(e) }));

    // Root writes what no Ingot server would: an unknown field, a path in an id, junk, a stray key.
    const good = JSON.stringify({ instance: instance('x'), epoch: 1 });
    const put = (key: string, value: string) => cluster.etcd.etcdctl(['put', key, value]);
    await put(
      '/ingot/assignments/web-5/priv',
      good.replace('"fleet"', '"privileged":true,"fleet"'),
    );
    await put('/ingot/assignments/web-5/x', good.replace('"id":"x"', '"id":"../../etc"'));
    await put('/ingot/assignments/web-5/junk', '{"instance":');
    await put('/ingot/assignments/web-5/a/b', good);
    await put('/ingot/assignments/web-5/y', good);

    const listing = await host.listAssignments();
    expect(listing.entries.map((e) => e.id)).toEqual(['good']);
    const reasons = Object.fromEntries(listing.invalid.map((i) => [i.key, i.reason]));
    expect(reasons['"/ingot/assignments/web-5/priv"']).toMatch(/privileged/);
    expect(reasons['"/ingot/assignments/web-5/x"']).toMatch(/not a valid instance id/);
    expect(reasons['"/ingot/assignments/web-5/junk"']).toBe('not UTF-8 JSON');
    expect(reasons['"/ingot/assignments/web-5/a/b"']).toBe('not a key of this layout');
    expect(reasons['"/ingot/assignments/web-5/y"']).toMatch(/for instance "x", the key for y/);

    await until(() => events.length >= 5, 5_000, 'the watch events');
    expect(events.map((e) => e.kind)).toEqual(Array(5).fill('invalid'));
    await leader.resign();
  });
});

describe('leader election', () => {
  async function twoCandidates(ctl: ControlCoordination, ttlSeconds: number) {
    const a = ctl.campaign({ name: 'srv-a', api: 'https://127.0.0.1:1' }, { ttlSeconds });
    const b = ctl.campaign({ name: 'srv-b' }, { ttlSeconds });
    const first = await Promise.race([a, b]);
    const second = first.record.name === 'srv-a' ? b : a;
    return { first, second };
  }

  it("elects one of two; when the leader's lease is revoked the other leads, and the old one is fenced", async () => {
    const ctl = control();
    const { first, second } = await twoCandidates(ctl, 2);
    const settled = await Promise.race([
      second.then(() => 'led'),
      new Promise((r) => setTimeout(() => r('waiting'), 1_000)),
    ]);
    expect(settled).toBe('waiting');
    expect((await ctl.leader())?.epoch).toBe(first.epoch);
    expect((await ctl.leader())?.record.name).toBe(first.record.name);
    await first.writeAssignments('web-1', { put: [instance('ok')] });

    // An operator (or etcd) ends the leader's lease; the process has no say in it.
    const revoked = performance.now();
    await cluster.etcd.etcdctl(['lease', 'revoke', BigInt(first.lease.id).toString(16)]);
    const next = await second;
    const failover = performance.now() - revoked;
    console.log(`leader lease revoked: the standby led after ${Math.round(failover)} ms`);
    expect(next.epoch).toBeGreaterThan(first.epoch);
    expect((await first.lost).code).toMatch(/^E_CLUSTER_(FENCED|LEASE_LOST)$/);

    // The deposed leader still tries to write: etcd refuses it in the same transaction.
    const refused = await first
      .writeAssignments('web-1', { put: [instance('stale')] })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'E_CLUSTER_FENCED',
      details: { epoch: first.epoch, current: next.epoch },
    });
    expect(await codeOf(first.admitHost('web-9'))).toBe('E_CLUSTER_FENCED');
    expect(await codeOf(first.forgetHost('web-1'))).toBe('E_CLUSTER_FENCED');
    const ids = (await ctl.listAssignments('web-1')).entries.map((e) => e.id);
    expect(ids).toContain('ok');
    expect(ids).not.toContain('stale');
    await next.writeAssignments('web-1', { remove: ['ok'] });
    await next.resign();
  });

  it('hands over within the TTL when the leader stalls (its keep-alives stop)', async () => {
    const ctl = control();
    const ttl = 2;
    const { first, second } = await twoCandidates(ctl, ttl);
    const stalled = performance.now();
    first.lease.release();
    const next = await second;
    const failover = performance.now() - stalled;
    const lost = await first.lost;
    console.log(
      `leader stalled (lease TTL ${ttl} s): the standby led after ${Math.round(failover)} ms; the stalled one knew after ${Math.round(performance.now() - stalled)} ms (${lost.code})`,
    );
    expect(failover).toBeLessThan(ttl * 1000 + 1_500);
    expect(await codeOf(first.writeAssignments('web-1', { put: [instance('late')] }))).toBe(
      'E_CLUSTER_FENCED',
    );
    await next.resign();
  });

  it('hands over at once on resign; a stopped campaign leaves nothing behind', async () => {
    const ctl = control();
    const { first, second } = await twoCandidates(ctl, 5);
    const resigned = performance.now();
    await first.resign();
    const next = await second;
    console.log(
      `leader resigned: the standby led after ${Math.round(performance.now() - resigned)} ms`,
    );
    expect((await first.lost).code).toBe('E_CLUSTER_CLOSED');
    expect(await codeOf(first.writeAssignments('web-1', {}))).toBe('E_CLUSTER_FENCED');

    const stop = new AbortController();
    const third = ctl.campaign({ name: 'srv-c' }, { ttlSeconds: 2, signal: stop.signal });
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    expect(await codeOf(third)).toBe('E_CLUSTER_CLOSED');
    await next.resign();
    expect(await ctl.leader()).toBeNull();
  });
});
