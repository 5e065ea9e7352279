import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openControlCoordination, openHostCoordination } from '../src/adapters/etcd/index.js';
import { connect } from '../src/adapters/etcd/connect.js';
import { inChunks } from '../src/adapters/etcd/host.js';
import { ETCD_MAX_REQUEST_BYTES, MAX_BYTES, statusKey } from '../src/core/cluster/index.js';
import { parseDigest } from '../src/domain/digest.js';
import type { ObservedInstance } from '../src/domain/instance.js';
import type {
  ControlCoordination,
  CoordinationOptions,
  Leadership,
} from '../src/ports/coordination.js';
import { etcdProcessesLeft } from './helpers/etcd.js';
import {
  failureOf,
  instance,
  startSecuredCluster,
  type SecuredCluster,
} from './helpers/coordination.js';

// etcd's members bound every request (--max-request-bytes, ETCD_MAX_REQUEST_BYTES): a host,
// whose credentials write its own status keys, cannot put more than that in one request, and
// Ingot's own writes, the largest legitimate ones included, stay under it.
let cluster: SecuredCluster;
let ctl: ControlCoordination;
let leader: Leadership;
const opened: { close(): Promise<void> }[] = [];
const open = <T extends { close(): Promise<void> }>(c: T): T => {
  opened.push(c);
  return c;
};
const artifact = parseDigest(`sha256:${'c'.repeat(64)}`);

/** etcd3 itself with a host's credentials: what a compromised agent could run. */
function rawClient(options: CoordinationOptions): Etcd3 {
  const client = new Etcd3({
    hosts: [...options.endpoints],
    ...(options.tls && {
      credentials: {
        rootCertificate: options.tls.ca,
        ...(options.tls.cert && { certChain: options.tls.cert }),
        ...(options.tls.key && { privateKey: options.tls.key }),
      },
    }),
    ...(options.auth && { auth: { ...options.auth } }),
  });
  opened.push({ close: () => Promise.resolve(client.close()) });
  return client;
}

/** A tainted instance's status with `findings` 512-character findings in a three-byte script. */
function tainted(id: string, findings: number): ObservedInstance {
  const finding = {
    detector: 'files' as const,
    path: `/${'€'.repeat(511)}`,
    expected: '€'.repeat(512),
    actual: '€'.repeat(512),
    time: '2026-12-04T10:00:00.000Z',
  };
  return {
    id,
    fleet: 'web',
    artifact,
    state: 'healthy',
    integrity: 'tainted',
    evidence: Array.from({ length: findings }, () => finding),
  };
}

beforeAll(async () => {
  cluster = await startSecuredCluster(['host-a', 'host-b']);
  ctl = open(openControlCoordination(cluster.server));
  leader = await ctl.campaign({ name: 'srv-1' }, { ttlSeconds: 10 });
});

afterAll(async () => {
  await leader?.resign().catch(() => undefined);
  await Promise.allSettled(opened.map((o) => o.close()));
  const dir = cluster?.etcd.dir;
  await cluster?.etcd.stop();
  if (dir) expect(etcdProcessesLeft(dir)).toEqual([]);
});

describe("etcd's request bound", () => {
  it("refuses a host's oversized write to its own keys (etcd's error), and the cluster goes on", async () => {
    const a = open(openHostCoordination('host-a', cluster.host('host-a')));
    await a.putStatus([{ id: 'a-1', fleet: 'web', artifact, state: 'healthy' }]);
    const raw = rawClient(cluster.host('host-a'));
    const key = statusKey('host-a', 'a-1');
    const huge = (n: number) => raw.put(key).value(Buffer.alloc(n, 'x')).exec();

    // Just over the bound: etcd's own refusal. Far over it: gRPC's, before etcd reads it.
    const messageOf = async (n: number) => {
      const failure = await failureOf(huge(n));
      return failure === 'none' ? 'accepted' : failure.message;
    };
    expect(await messageOf(ETCD_MAX_REQUEST_BYTES + 1)).toContain(
      'etcdserver: request is too large',
    );
    expect(await messageOf(1024 * 1024)).toContain('received message larger than max');
    // Through the adapter's transactions, the same refusal has its code, and is not retried.
    const conn = connect(cluster.host('host-a'));
    opened.push(conn);
    const started = performance.now();
    expect(
      await failureOf(
        inChunks(conn, 'writing an oversized status', [
          {
            request_put: {
              key: Buffer.from(key),
              value: Buffer.alloc(ETCD_MAX_REQUEST_BYTES, 'x'),
            },
          },
        ]),
      ),
    ).toMatchObject({ code: 'E_CLUSTER_TOO_LARGE' });
    expect(performance.now() - started).toBeLessThan(2_000);

    // Nothing of it landed; the host, the other host and the leader go on.
    expect((await ctl.listStatus('host-a')).entries.map((e) => e.value.state)).toEqual(['healthy']);
    await a.putStatus([{ id: 'a-1', fleet: 'web', artifact, state: 'unhealthy' }]);
    const b = open(openHostCoordination('host-b', cluster.host('host-b')));
    await b.putStatus([{ id: 'b-1', fleet: 'web', artifact, state: 'healthy' }]);
    await leader.writeAssignments('host-a', { put: [instance('a-2')] });
    expect(await Promise.race([leader.lost.then(() => 'lost'), Promise.resolve('held')])).toBe(
      'held',
    );
    const status = await ctl.listStatus();
    expect(status.invalid).toEqual([]);
    expect(status.entries.map((e) => [e.host, e.id, e.value.state])).toEqual([
      ['host-a', 'a-1', 'unhealthy'],
      ['host-b', 'b-1', 'healthy'],
    ]);
    const health = JSON.parse(await cluster.etcd.etcdctl(['endpoint', 'health', '-w', 'json'])) as {
      health: boolean;
    }[];
    expect(health.map((m) => m.health)).toEqual([true, true, true]);
  });

  it("takes Ingot's largest legitimate writes: a full value, and a host's whole report", async () => {
    const a = open(openHostCoordination('host-a', cluster.host('host-a')));
    // 20 findings in a three-byte script (~94 KB) are cut to fit the status bound.
    await a.putStatus([tainted('a-big', 20)]);
    const big = (await ctl.listStatus('host-a')).entries.find((e) => e.id === 'a-big')!;
    expect(big.value.integrity).toBe('tainted');
    expect(big.value.evidence!.length).toBeGreaterThanOrEqual(1);

    // An assignment at its bound (a fleet's environment): one request of about 64 KiB.
    const half = 'x'.repeat((MAX_BYTES.assignment - 1_000) / 2);
    const env: [string, string][] = [
      ['BIG_1', half],
      ['BIG_2', half],
    ];
    await leader.writeAssignments('host-a', { put: [{ ...instance('a-env'), env }] });
    expect(
      (await ctl.listAssignments('host-a')).entries.find((e) => e.id === 'a-env')?.value.instance
        .env,
    ).toEqual(env);

    // A full report of 200 instances with 6 findings each (~5.6 MB): split into transactions.
    const report = Array.from({ length: 200 }, (_, n) => tainted(`r-${n}`, 6));
    await a.putStatus(report);
    const listed = await ctl.listStatus('host-a');
    expect(listed.invalid).toEqual([]);
    expect(listed.entries.filter((e) => e.id.startsWith('r-'))).toHaveLength(200);
    await a.deleteStatus(report.map((r) => r.id));
  });
});
