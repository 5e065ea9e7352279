import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openControlCoordination, openHostCoordination } from '../src/adapters/etcd/index.js';
import type { ClusterPicture } from '../src/core/cluster/observed.js';
import type { ObservedInstance } from '../src/domain/instance.js';
import type { HostCoordination } from '../src/ports/coordination.js';
import { readPicture } from '../src/services/cluster/cluster-agents.js';
import { WatchedPicture } from '../src/services/cluster/watched-picture.js';
import { etcdProcessesLeft } from './helpers/etcd.js';
import {
  instance,
  registration,
  startSecuredCluster,
  until,
  type SecuredCluster,
} from './helpers/coordination.js';

// The leader's picture of the cluster, kept from one listing and the watches after it, against
// three real etcd members (TLS, auth on): at every step it shows what a fresh listing shows,
// and the leader's own writes at once.

let cluster: SecuredCluster;
const opened: { close(): Promise<void> }[] = [];
const keep = <T extends { close(): Promise<void> }>(c: T): T => {
  opened.push(c);
  return c;
};

beforeAll(async () => {
  cluster = await startSecuredCluster(['pic-1', 'pic-2', 'pic-3']);
});

afterAll(async () => {
  await Promise.allSettled(opened.map((o) => o.close()));
  const dir = cluster?.etcd.dir;
  await cluster?.etcd.stop();
  if (dir) expect(etcdProcessesLeft(dir)).toEqual([]);
});

/** A picture as plain data, to compare two of them. */
function plain(p: ClusterPicture) {
  const byHost = <T>(m: ReadonlyMap<string, Iterable<T>>, show: (v: T) => string) =>
    Object.fromEntries(
      [...m]
        .map(([h, vs]) => [h, [...vs].map(show).sort()] as const)
        .filter(([, vs]) => vs.length > 0),
    );
  return {
    hosts: p.hosts.map((h) => `${h.name}:${h.state}`),
    status: byHost(p.status, (i: ObservedInstance) => `${i.id}:${i.state}`),
    assignments: byHost(new Map([...p.assignments].map(([h, m]) => [h, [...m.values()]])), (d) =>
      JSON.stringify(d),
    ),
  };
}

/** Whether the watched picture shows what a listing shows now (false while etcd does not answer). */
async function same(watched: WatchedPicture, ctl: Parameters<typeof readPicture>[0]) {
  try {
    const [a, b] = [await watched.picture(), await readPicture(ctl)];
    return JSON.stringify(plain(a)) === JSON.stringify(plain(b));
  } catch {
    return false;
  }
}

const seen = (id: string, state: ObservedInstance['state']): ObservedInstance => ({
  ...instance(id),
  state,
});

describe("the leader's watched picture", () => {
  it('shows what a listing shows, after each change by hosts and by the leader; its own writes at once', async () => {
    const ctl = keep(openControlCoordination(cluster.server));
    const leader = await ctl.campaign({ name: 'srv-pic' }, { ttlSeconds: 5 });
    const watched = new WatchedPicture(ctl);
    opened.push(watched);
    const host = (name: string): HostCoordination =>
      keep(openHostCoordination(name, cluster.host(name)));
    const [one, two] = [host('pic-1'), host('pic-2')];
    const matches = async (what: string) => {
      await until(() => same(watched, ctl), 5_000, what);
      expect(plain(await watched.picture())).toEqual(plain(await readPicture(ctl)));
    };

    await one.register(registration('pic-1'), 5);
    expect(plain(await watched.picture()).hosts).toEqual(['pic-1:unadmitted']);

    // The leader's own writes: in the picture as soon as etcd confirmed them.
    watched.admitted('pic-1', await leader.admitHost('pic-1'), new Date().toISOString());
    const put = { put: [instance('a'), instance('b'), instance('c', [['K', 'v']])] };
    watched.wroteAssignments('pic-1', put, await leader.writeAssignments('pic-1', put));
    const now = plain(await watched.picture());
    expect(now.hosts).toEqual(['pic-1:live']);
    expect(now.assignments['pic-1']).toHaveLength(3);
    await matches('the writes of the leader');

    // What a host writes arrives with the watch.
    await one.putStatus([seen('a', 'healthy'), seen('b', 'starting'), seen('c', 'healthy')]);
    await matches('the status of pic-1');
    await one.deleteStatus(['b']);
    const remove = { remove: ['b'] };
    watched.wroteAssignments('pic-1', remove, await leader.writeAssignments('pic-1', remove));
    expect(plain(await watched.picture()).assignments['pic-1']).toHaveLength(2);
    await matches('a status deleted, an assignment removed');

    const lease = await two.register(registration('pic-2'), 5);
    await matches('another host registered');
    await lease.revoke();
    await matches('its lease revoked');

    // A value no agent would write (root writes it): the key is left out, as a listing does.
    await cluster.etcd.etcdctl(['put', '/ingot/status/pic-1/a', '{"id":']);
    await matches('an unreadable status');
    expect(plain(await watched.picture()).status['pic-1']).toEqual(['c:healthy']);

    // Compaction behind a watch that keeps up changes nothing.
    const revision = await leader.writeAssignments('pic-1', { remove: ['c'] });
    watched.wroteAssignments('pic-1', { remove: ['c'] }, revision);
    await cluster.etcd.etcdctl(['compact', String(revision), '--physical']);
    await one.putStatus([seen('d', 'healthy')]);
    await matches('after a compaction');
    expect(watched.listings.listed).toBe(1);
    await leader.resign();
  });

  it("each etcd member killed in turn (the watches' one among them): the picture follows through the others and matches etcd", async () => {
    const ctl = keep(openControlCoordination(cluster.server));
    const leader = await ctl.campaign({ name: 'srv-pic-2' }, { ttlSeconds: 5 });
    const watched = new WatchedPicture(ctl);
    opened.push(watched);
    const three = keep(openHostCoordination('pic-3', cluster.host('pic-3')));
    await three.register(registration('pic-3'), 10);
    await watched.picture();

    for (const member of [0, 1, 2]) {
      await cluster.etcd.kill(member);
      try {
        const put = { put: [instance(`k${member}`)] };
        await until(
          async () => {
            try {
              const revision = await leader.writeAssignments('pic-3', put);
              watched.wroteAssignments('pic-3', put, revision);
              return true;
            } catch {
              return false;
            }
          },
          15_000,
          `a write with member ${member} down`,
        );
        await until(
          async () => {
            try {
              await three.putStatus([seen(`k${member}`, 'healthy')]);
              return true;
            } catch {
              return false;
            }
          },
          15_000,
          `a status with member ${member} down`,
        );
        await until(() => same(watched, ctl), 15_000, `the picture with member ${member} down`);
        expect(plain(await watched.picture()).status['pic-3']).toContain(`k${member}:healthy`);
      } finally {
        await cluster.etcd.restart(member);
      }
    }
    await three.deleteStatus(['k0']);
    await until(
      async () =>
        (await same(watched, ctl)) &&
        !(plain(await watched.picture()).status['pic-3'] ?? []).includes('k0:healthy'),
      15_000,
      'a change after every member came back',
    );
    console.log(`listings of the cluster: ${JSON.stringify(watched.listings)}`);
    await leader.resign();
  });
});
