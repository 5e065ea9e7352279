import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openControlCoordination, openHostCoordination } from '../src/adapters/etcd/index.js';
import type { Assignment } from '../src/domain/cluster.js';
import type { ControlCoordination, Leadership, WatchEvent } from '../src/ports/coordination.js';
import { etcdProcessesLeft } from './helpers/etcd.js';
import {
  codeOf,
  failureOf,
  instance,
  startSecuredCluster,
  until,
  type SecuredCluster,
} from './helpers/coordination.js';

// Members of a real three-member etcd killed with SIGKILL under a working control plane.
// The adapter's default deadline: long enough to ride out an etcd election (1–2.5 s here).
const TIMEOUT_MS = 5_000;
let cluster: SecuredCluster;
let ctl: ControlCoordination;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  cluster = await startSecuredCluster(['web-1'], TIMEOUT_MS);
  ctl = openControlCoordination(cluster.server);
  opened.push(ctl);
});

afterAll(async () => {
  await Promise.allSettled(opened.map((o) => o.close()));
  const dir = cluster?.etcd.dir;
  await cluster?.etcd.stop();
  if (dir) expect(etcdProcessesLeft(dir)).toEqual([]);
});

describe('etcd members failing', () => {
  let leader: Leadership;

  it("one killed (etcd's own Raft leader): writes and reads still succeed, the term holds", async () => {
    leader = await ctl.campaign({ name: 'srv-1' }, { ttlSeconds: 5 });
    const host = openHostCoordination('web-1', cluster.host('web-1'));
    opened.push(host);
    await leader.writeAssignments('web-1', { put: [instance('before')] });

    const victim = await cluster.etcd.raftLeader();
    await cluster.etcd.kill(victim);
    const started = performance.now();
    await leader.writeAssignments('web-1', { put: [instance('after-one')] });
    console.log(
      `etcd Raft leader killed: the next fenced write took ${Math.round(performance.now() - started)} ms (a new Raft leader is elected meanwhile)`,
    );
    const ids = (await host.listAssignments()).entries.map((e) => e.id);
    expect(ids).toEqual(expect.arrayContaining(['before', 'after-one']));
    expect(await Promise.race([leader.lost.then(() => 'lost'), Promise.resolve('held')])).toBe(
      'held',
    );
  });

  it('two killed: writes and reads fail with E_CLUSTER_UNAVAILABLE in bounded time, then recover', async () => {
    const second = [0, 1, 2].find((i) => cluster.etcd.running(i));
    if (second === undefined) throw new Error('no member runs');
    await cluster.etcd.kill(second);

    const started = performance.now();
    expect(
      await failureOf(leader.writeAssignments('web-1', { put: [instance('no-quorum')] })),
    ).toMatchObject({ code: 'E_CLUSTER_UNAVAILABLE' });
    const writeFailed = performance.now() - started;
    const readStarted = performance.now();
    expect(await failureOf(ctl.listAssignments('web-1'))).toMatchObject({
      code: 'E_CLUSTER_UNAVAILABLE',
    });
    const readFailed = performance.now() - readStarted;
    console.log(
      `two of three members killed: a write failed after ${Math.round(writeFailed)} ms, a read after ${Math.round(readFailed)} ms (deadline ${TIMEOUT_MS} ms)`,
    );
    expect(writeFailed).toBeLessThan(TIMEOUT_MS + 1_000);
    expect(readFailed).toBeLessThan(TIMEOUT_MS + 1_000);

    // Without a quorum no keep-alive is confirmed: the leader gives its term up within the TTL.
    const lost = await leader.lost;
    expect(lost.code).toBe('E_CLUSTER_LEASE_LOST');

    const restarted = performance.now();
    for (const i of [0, 1, 2]) if (!cluster.etcd.running(i)) await cluster.etcd.restart(i);
    // A new term (the old lease may live on until etcd expires it, then the key goes).
    const next = await ctl.campaign({ name: 'srv-2' }, { ttlSeconds: 5 });
    const took = await until(
      () =>
        next
          .writeAssignments('web-1', { put: [instance('recovered')] })
          .then(() => true)
          .catch(() => false),
      20_000,
      'a write after the restart',
    );
    console.log(
      `members restarted: a new term (epoch ${next.epoch} > ${leader.epoch}) wrote ${Math.round(performance.now() - restarted)} ms after the restart began (${Math.round(took)} ms after it led)`,
    );
    expect(next.epoch).toBeGreaterThan(leader.epoch);
    const ids = (await ctl.listAssignments('web-1')).entries.map((e) => e.id);
    // ('no-quorum' may or may not be there: a write given up on has an unknown outcome.)
    expect(ids).toContain('recovered');
    // The old term is fenced, whatever it believes.
    expect(await codeOf(leader.writeAssignments('web-1', { put: [instance('stale')] }))).toBe(
      'E_CLUSTER_FENCED',
    );
    await next.resign();
  });

  it('every member restarted, one at a time: a host watches on, and a new watch starts', async () => {
    // Members keep etcd's (simple) auth tokens in memory: a restarted one refuses every token
    // issued before, and a watch stream that reconnects to it with one must authenticate again.
    for (const i of [0, 1, 2]) if (!cluster.etcd.running(i)) await cluster.etcd.restart(i);
    const leader = await ctl.campaign({ name: 'srv-3' }, { ttlSeconds: 5 });
    const host = openHostCoordination('web-1', cluster.host('web-1'));
    opened.push(host);
    const listing = await host.listAssignments();
    const seen = new Set<string>();
    const failures: string[] = [];
    const handler = {
      event: (e: WatchEvent<Assignment>) => {
        if (e.kind === 'put') seen.add(e.entry.id);
        if (e.kind === 'relisted') for (const x of e.listing.entries) seen.add(x.id);
      },
      failed: (err: { code: string }) => failures.push(err.code),
    };
    opened.push(await host.watchAssignments(listing.revision + 1, handler));
    // Written and committed on every member well before the restarts: a member that restarts
    // then does not replay the authentication that issued the host's token.
    await leader.writeAssignments('web-1', { put: [instance('before-restarts')] });
    await until(() => seen.has('before-restarts'), 5_000, 'the watch to see the first write');
    await new Promise((r) => setTimeout(r, 2_000));
    for (const [m, signal] of [
      [0, 'SIGKILL'],
      [1, 'SIGTERM'],
      [2, 'SIGKILL'],
    ] as const) {
      await cluster.etcd.kill(m, signal);
      await cluster.etcd.restart(m);
      const id = `after-e${m + 1}`;
      await leader.writeAssignments('web-1', { put: [instance(id)] });
      const took = await until(() => seen.has(id), 15_000, `the watch to see ${id}`);
      console.log(
        `etcd e${m + 1} restarted (${signal}): the watch saw the next write after ${Math.round(took)} ms`,
      );
    }
    // Every member has restarted: no token issued before is good anywhere now.
    const fresh = new Set<string>();
    const again = await host.watchAssignments((await host.listAssignments()).revision + 1, {
      event: (e) => {
        if (e.kind === 'put') fresh.add(e.entry.id);
      },
    });
    opened.push(again);
    await leader.writeAssignments('web-1', { put: [instance('last')] });
    await until(() => fresh.has('last') && seen.has('last'), 15_000, 'both watches to see it');
    expect(failures).toEqual([]);
    await leader.resign();
  });
});
