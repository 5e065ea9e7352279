import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { waitFor } from './helpers/cluster.js';
import { startTestCluster, type TestCluster } from './helpers/test-cluster.js';

/**
 * Faults of the control plane, on real processes: the leading server SIGKILLed mid-rollout,
 * every server gone (static stability), etcd losing one member and then its quorum, and more
 * than one host lost at once (the host-loss guard).
 */

let c: TestCluster;

beforeAll(async () => {
  c = await startTestCluster({ hosts: ['h1', 'h2', 'h3'], servers: 2 });
}, 240_000);

afterAll(async () => {
  await c?.stop();
}, 120_000);

const serverIndex = (name: string) => Number(name.slice(1)) - 1;

function web(greeting: string, replicas = 3): string {
  return c.writeFleet('web', [
    `artifact: ${c.image}`,
    `replicas: ${replicas}`,
    'minReadySeconds: 1',
    'env:',
    `  GREETING: ${greeting}`,
    'strategy:',
    '  rolling: { maxSurge: 1, maxUnavailable: 0 }',
  ]);
}

/** The fleet's healthy instances all run its current release, and there are `n`. */
function settled(n: number, server = 0): boolean {
  const f = c.fleet('web', server);
  if (!f) return false;
  const healthy = f.instances.filter((i) => i.state === 'healthy');
  return healthy.length === n && healthy.every((i) => i.release === f.release);
}

describe('the control plane fails', () => {
  it('the leader SIGKILLed mid-rollout: a standby leads within 5 s and finishes it', async () => {
    expect(c.cli(['deploy', web('one')]).code).toBe(0);
    await waitFor(
      'v1 healthy',
      () => settled(3),
      120_000,
      () => JSON.stringify(c.fleet('web')),
    );
    const leader = c.leader()!;
    const standby = leader === 's1' ? 's2' : 's1';
    const r = c.cli(['deploy', web('two')], serverIndex(standby));
    expect(r.code, r.stderr).toBe(0);
    // Mid-rollout: a new instance is on its way.
    await waitFor(
      'the rollout under way',
      () => (c.fleet('web', serverIndex(standby))?.instances.length ?? 0) > 3,
      60_000,
    );
    const killed = Date.now();
    await c.servers[serverIndex(leader)]!.kill();
    onTestFinished(async () => {
      await c.startServer(serverIndex(leader));
    });
    const record = await waitFor(
      'the standby to lead',
      () => {
        const r = c.leaderRecord(serverIndex(standby));
        return r?.name === standby && r;
      },
      15_000,
    );
    // From the kill to the standby's term (its record's own clock: same machine).
    expect(record.since - killed).toBeLessThan(5_000);
    await waitFor(
      'the rollout to finish',
      () => settled(3, serverIndex(standby)),
      180_000,
      () => JSON.stringify(c.fleet('web', serverIndex(standby)), null, 1),
    );
    const f = c.fleet('web', serverIndex(standby))!;
    const ids = f.instances.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Nothing orphaned: the hosts run exactly the fleet's live instances.
    await waitFor(
      'no instance left over',
      () => ['h1', 'h2', 'h3'].reduce((n, h) => n + c.runningOn(h), 0) === 3,
      30_000,
    );
    const verified = c.cli(['ledger', 'verify'], serverIndex(standby));
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  }, 400_000);

  it('static stability: with every server gone, instances keep running and healthy', async () => {
    const before = ['h1', 'h2', 'h3'].map((h) => c.runningOn(h));
    for (const s of c.servers) await s.kill();
    await new Promise((r) => setTimeout(r, 12_000));
    expect(['h1', 'h2', 'h3'].map((h) => c.runningOn(h))).toEqual(before);
    for (let i = 0; i < c.servers.length; i++) await c.startServer(i);
    await waitFor('a leader again', () => c.leader() !== null, 20_000);
    await waitFor(
      'the fleet as it was',
      () => settled(3),
      60_000,
      () => JSON.stringify(c.fleet('web')),
    );
  }, 120_000);

  it('etcd: one member down changes nothing; without quorum nothing changes, and it converges after', async () => {
    onTestFinished(async () => {
      // Whatever failed, the next test gets a whole etcd.
      for (const m of [0, 1]) if (!c.etcd.running(m)) await c.etcd.restart(m);
    });
    await c.etcd.kill(0);
    expect(c.cli(['deploy', web('three')]).code).toBe(0);
    await waitFor(
      'v3 rolled out with one member down',
      () => settled(3),
      180_000,
      () => JSON.stringify(c.fleet('web')),
    );
    const running = () => ['h1', 'h2', 'h3'].map((h) => c.runningOn(h));
    // The old release's instances have stopped (healthy is not all that runs before then).
    await waitFor(
      'only the 3 of v3 running',
      () => running().reduce((a, b) => a + b) === 3,
      60_000,
    );
    await c.etcd.kill(1);
    const before = running();
    expect(c.cli(['deploy', web('four')]).code).toBe(0);
    await new Promise((r) => setTimeout(r, 8_000));
    // No quorum: no assignment changes, and what runs keeps running.
    expect(running()).toEqual(before);
    await c.etcd.restart(0);
    await c.etcd.restart(1);
    await waitFor(
      'v4 rolled out after recovery',
      () => settled(3),
      120_000,
      () => c.servers.map((s) => s.output().slice(-6000)).join('\n----\n'),
    );
  }, 420_000);

  it('two hosts of three lost at once: the guard holds replacements, and history says so', async () => {
    // The last rollout's old instances stopped and reported so, before the hosts go.
    await waitFor(
      "only the fleet's 3 running",
      () => ['h1', 'h2', 'h3'].reduce((n, h) => n + c.runningOn(h), 0) === 3,
      60_000,
    );
    await waitFor('3 reported', () => c.fleet('web')?.instances.length === 3, 30_000);
    const before = c.healthyOn('web');
    await c.agents.get('h1')!.kill();
    await c.agents.get('h2')!.kill();
    await new Promise((r) => setTimeout(r, 16_000));
    // Nothing replaced: the same instances, none started on h3 for them.
    const f = c.fleet('web')!;
    expect(
      f.instances
        .filter((i) => i.state === 'healthy')
        .map((i) => i.id)
        .sort(),
    ).toEqual([...before.keys()].sort());
    const history = c.cli(['history', 'web', '-o', 'json']);
    expect(history.stdout).toContain('hosts lost at once');
    await c.startAgent('h1');
    await c.startAgent('h2');
    await waitFor(
      'the fleet as it was',
      () => settled(3),
      60_000,
      () => JSON.stringify(c.fleet('web')),
    );
  }, 180_000);
});
