import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testbed, type Testbed } from '../src/adapters/netns-testbed/index.js';
import { waitFor } from './helpers/cluster.js';
import { startTestCluster, type TestCluster } from './helpers/test-cluster.js';

/**
 * Hosts as network namespaces, each with its own agent: a host whose link is cut is lost and
 * its instances are replaced on the other host, while they keep running where they were
 * (static stability). Healed, the host stops them before it takes new work: never two running
 * instances with one name.
 */

let bed: Testbed;
let c: TestCluster;

beforeAll(async () => {
  bed = testbed({
    hosts: 2,
    prefix: `ict${process.pid % 1000}`,
    linkSubnet: '10.86.0.0/24',
    instanceSubnets: '10.85.0.0/16',
  });
  await bed.create();
  c = await startTestCluster({ hosts: ['h1', 'h2'], servers: 1, bed });
}, 300_000);

afterAll(async () => {
  await c?.stop();
  await bed?.destroy();
}, 120_000);

describe('a host whose link is cut', () => {
  it('is lost, its instances are replaced elsewhere, and it stops them once healed', async () => {
    const file = c.writeFleet('web', [`artifact: ${c.image}`, 'replicas: 2', 'minReadySeconds: 0']);
    expect(c.cli(['deploy', file]).code).toBe(0);
    const on = await waitFor(
      '2 healthy, one per host',
      () => {
        const h = c.healthyOn('web');
        return new Set(h.values()).size === 2 && h;
      },
      120_000,
      () => JSON.stringify(c.fleet('web'), null, 1),
    );
    const [cutId] = [...on].find(([, h]) => h === 'h1')!;
    const cutAt = Date.now();
    await bed.cut(1);
    try {
      await waitFor(
        'a replacement on h2',
        () => {
          const h = c.healthyOn('web');
          return [...h.values()].filter((x) => x === 'h2').length === 2 && h;
        },
        60_000,
        () => JSON.stringify(c.fleet('web'), null, 1),
      );
      // The lease (10 s) ran out, then one reconcile, a start and a health check.
      expect(Date.now() - cutAt).toBeLessThan(40_000);
      // Cut off, h1 keeps what it ran: nothing stops because the control plane is gone.
      expect(c.runningOn('h1')).toBe(1);
      expect(c.healthyOn('web').has(cutId)).toBe(false);
    } finally {
      await bed.heal(1);
    }
    await waitFor(
      'h1 to stop the instance it no longer has',
      () => c.runningOn('h1') === 0,
      60_000,
      () => JSON.stringify(c.fleet('web'), null, 1) + c.agents.get('h1')!.output().slice(-3000),
    );
    const names = (c.fleet('web')?.instances ?? [])
      .filter((i) => i.state === 'healthy')
      .map((i) => i.id);
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
  }, 240_000);
});
