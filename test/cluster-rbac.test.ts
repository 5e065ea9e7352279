import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openControlCoordination,
  openCoordinationAdmin,
  openHostCoordination,
} from '../src/adapters/etcd/index.js';
import { parseDigest } from '../src/domain/digest.js';
import type { Leadership } from '../src/ports/coordination.js';
import { etcdProcessesLeft } from './helpers/etcd.js';
import {
  codeOf,
  instance,
  registration,
  startSecuredCluster,
  until,
  type SecuredCluster,
} from './helpers/coordination.js';

// Per-host credentials on a real three-member etcd with TLS and auth: each host's etcd user
// may read its own assignments and write its own status and registration, nothing else.
let cluster: SecuredCluster;
let leader: Leadership;
const opened: { close(): Promise<void> }[] = [];
const open = <T extends { close(): Promise<void> }>(c: T): T => {
  opened.push(c);
  return c;
};
const seen = {
  id: 'b-1',
  fleet: 'web',
  artifact: parseDigest(`sha256:${'c'.repeat(64)}`),
  state: 'healthy',
} as const;

beforeAll(async () => {
  cluster = await startSecuredCluster(['host-a', 'host-b']);
  const ctl = open(openControlCoordination(cluster.server));
  leader = await ctl.campaign({ name: 'srv-1' }, { ttlSeconds: 10 });
  await leader.writeAssignments('host-a', { put: [instance('a-1')] });
  await leader.writeAssignments('host-b', { put: [instance('b-1')] });
});

afterAll(async () => {
  await leader?.resign().catch(() => undefined);
  await Promise.allSettled(opened.map((o) => o.close()));
  const dir = cluster?.etcd.dir;
  await cluster?.etcd.stop();
  if (dir) expect(etcdProcessesLeft(dir)).toEqual([]);
});

describe('per-host credentials', () => {
  it('let a host register, read its own assignments, watch them and write its own status', async () => {
    const a = open(openHostCoordination('host-a', cluster.host('host-a')));
    const lease = await a.register(registration('host-a'), 2);
    const mine = await a.listAssignments();
    expect(mine.entries.map((e) => e.id)).toEqual(['a-1']);
    const events: string[] = [];
    open(await a.watchAssignments(mine.revision + 1, { event: (e) => events.push(e.kind) }));
    await leader.writeAssignments('host-a', { put: [instance('a-2')] });
    await until(() => events.includes('put'), 5_000, 'the watch event');
    await a.putStatus([{ ...seen, id: 'a-1' }]);
    expect((await a.listStatus()).entries.map((e) => [e.host, e.id])).toEqual([['host-a', 'a-1']]);
    await lease.revoke();
  });

  it("refuse another host's assignments, status and registration (E_CLUSTER_DENIED)", async () => {
    // Host A's credentials, used as if it were host B: what a compromised agent would try.
    const asB = open(
      openHostCoordination('host-b', cluster.etcd.clientOptions(cluster.credentials('host-a'))),
    );
    expect(await codeOf(asB.listAssignments())).toBe('E_CLUSTER_DENIED');
    expect(await codeOf(asB.watchAssignments(1, { event: () => undefined }))).toBe(
      'E_CLUSTER_DENIED',
    );
    expect(await codeOf(asB.putStatus([seen]))).toBe('E_CLUSTER_DENIED');
    expect(await codeOf(asB.deleteStatus(['b-1']))).toBe('E_CLUSTER_DENIED');
    expect(await codeOf(asB.listStatus())).toBe('E_CLUSTER_DENIED');
    expect(await codeOf(asB.register(registration('host-b'), 2))).toBe('E_CLUSTER_DENIED');

    // B's own keys are untouched, and B itself still reads and writes them.
    const b = open(openHostCoordination('host-b', cluster.host('host-b')));
    await b.putStatus([seen]);
    const status = await open(openControlCoordination(cluster.server)).listStatus('host-b');
    expect(status.entries.map((e) => e.id)).toEqual(['b-1']);
    expect((await b.listAssignments()).entries.map((e) => e.id)).toEqual(['b-1']);
  });

  it('refuse a host the control plane: the leader key, other hosts, any assignment', async () => {
    const asServer = open(
      openControlCoordination(cluster.etcd.clientOptions(cluster.credentials('host-a'))),
    );
    expect(await codeOf(asServer.leader())).toBe('E_CLUSTER_DENIED');
    expect(await codeOf(asServer.listHosts())).toBe('E_CLUSTER_DENIED');
    expect(await codeOf(asServer.listAssignments('host-b'))).toBe('E_CLUSTER_DENIED');
    expect(await codeOf(asServer.listStatus())).toBe('E_CLUSTER_DENIED');
    expect(await codeOf(asServer.watchStatus(1, { event: () => undefined }))).toBe(
      'E_CLUSTER_DENIED',
    );
    expect(await codeOf(asServer.campaign({ name: 'rogue' }, { ttlSeconds: 2 }))).toBe(
      'E_CLUSTER_DENIED',
    );
    expect((await open(openControlCoordination(cluster.server)).leader())?.record.name).toBe(
      'srv-1',
    );
  });

  it('refuse a wrong password (E_CLUSTER_AUTH), and a certificate alone grants nothing', async () => {
    const wrong = open(
      openHostCoordination(
        'host-a',
        cluster.etcd.clientOptions({ username: 'ingot-host-host-a', password: 'not-it' }),
      ),
    );
    expect(await codeOf(wrong.listAssignments())).toBe('E_CLUSTER_AUTH');
    // No password: etcd (--client-cert-auth) takes the client certificate's CN as the user,
    // and that user holds no role.
    const none = open(openHostCoordination('host-a', cluster.etcd.clientOptions()));
    expect(await codeOf(none.listAssignments())).toBe('E_CLUSTER_DENIED');
  });

  it('are gone once the host is revoked', async () => {
    const admin = open(
      openCoordinationAdmin(cluster.etcd.clientOptions(cluster.etcd.root ?? undefined)),
    );
    await admin.revokeHost('host-b');
    const b = open(openHostCoordination('host-b', cluster.host('host-b')));
    expect(await codeOf(b.listAssignments())).toBe('E_CLUSTER_AUTH');
  });
});
