import { appendFileSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rootfsOf, sleep } from './helpers/agent.js';
import { HELLO, useServer, type FleetJson } from './helpers/server.js';

/**
 * Issue 15: a schema-valid fleet once took the control plane down for good (replicas: 10000
 * accepted, namespaces by the thousand, the API silent, other fleets unmonitored, and no way
 * to scale it down). Here a host bounded to 48 instances refuses what does not fit, and
 * while a 40-instance start storm runs beside another fleet, the API keeps answering within
 * a second, the other fleet's drift is found and replaced, and a replicas-0 deploy of the
 * storming fleet gets through and ends the storm.
 */
describe('a fleet far larger than the host', () => {
  const server = useServer('scale');
  const { cli } = server;
  const fleetSpec = (name: string, artifact: string, replicas: number) =>
    server.writeFleet(name, [
      `artifact: ${artifact}`,
      `replicas: ${replicas}`,
      // No CPU limit: 40 of the example's 0.5 CPUs would not fit 2 cores (a refusal too).
      'resources: { memory: 16Mi, pids: 32 }',
      'strategy: { rolling: { maxSurge: 1, maxUnavailable: 0 } }',
      'progressDeadline: 5m',
    ]);

  /** GET /v1/fleets straight from the API, timed. */
  const api = async (): Promise<{ ms: number; fleets: FleetJson[] }> => {
    const { port } = JSON.parse(readFileSync(join(server.home, 'server.json'), 'utf8')) as {
      port: number;
    };
    const token = readFileSync(join(server.home, 'token'), 'utf8').trim();
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/v1/fleets`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
    const fleets = (await res.json()) as FleetJson[];
    return { ms: performance.now() - t0, fleets };
  };

  it('refuses what does not fit, and stays responsive through a start storm it accepted', async () => {
    const began = performance.now();
    const mark = (what: string) =>
      console.log(`${((performance.now() - began) / 1000).toFixed(1)} s: ${what}`);
    server.up('--max-instances', '48');
    expect(cli('build', '-q', HELLO).code).toBe(0);
    // The other fleet runs from an artifact of its own: a rootfs the storm does not share.
    expect(cli('build', '-q', '-t', 'hello:other', '--source-date-epoch', '7', HELLO).code).toBe(0);
    mark('built');
    const other = cli('deploy', fleetSpec('other', 'hello:other', 1), '--wait');
    expect(other.code, other.stderr).toBe(0);

    mark('other fleet up');
    // Far more than fits: refused at deploy, with the reason and its own code.
    const huge = cli('deploy', fleetSpec('big', 'hello:1.0.0', 10_000));
    expect(huge.code).not.toBe(0);
    expect(huge.stderr).toContain('E_CAPACITY');
    expect(huge.stderr).toMatch(/needs up to 10001 instances .* at most 48 instances/);
    expect((await api()).fleets.map((f) => f.name)).toEqual(['other']);

    // 40 (41 with its surge) beside the other fleet's 2: accepted; a storm of starts follows.
    const big = cli('deploy', fleetSpec('big', 'hello:1.0.0', 40));
    expect(big.code, big.stderr).toBe(0);
    const latencies: number[] = [];
    const probe = async () => {
      const r = await api();
      latencies.push(r.ms);
      return r.fleets;
    };
    const fleetOf = (fleets: FleetJson[], name: string) => fleets.find((f) => f.name === name)!;
    let fleets = await probe();
    for (let n = 0; n < 100 && fleetOf(fleets, 'big').instances.length < 10; n++) {
      await sleep(100);
      fleets = await probe();
    }

    mark('storm under way');
    // Mid-storm, the other fleet's file changes on the host: found and replaced meanwhile.
    const victim = fleetOf(fleets, 'other').instances.find((i) => i.state === 'healthy')!;
    expect(victim).toBeDefined();
    const rootfs = rootfsOf(server.home, victim.artifact);
    appendFileSync(join(rootfs, 'srv', 'www', 'index.html'), '<!-- tampered -->\n');
    let tainted = false;
    let pendingAtTaint = -1;
    for (let n = 0; n < 50 && !tainted; n++) {
      fleets = await probe();
      const v = fleetOf(fleets, 'other').instances.find((i) => i.id === victim.id);
      tainted = (v?.evidence?.length ?? 0) > 0 || v?.integrity === 'tainted';
      if (tainted)
        pendingAtTaint = fleetOf(fleets, 'big').instances.filter(
          (i) => i.state === 'pending',
        ).length;
      else await sleep(100);
    }
    mark('tainted or gave up');
    expect(tainted).toBe(true);
    expect(pendingAtTaint, 'the drift was found while the storm still ran').toBeGreaterThan(0);

    // The real CLI answers while the storm runs.
    const t0 = performance.now();
    const status = cli('status', '-o', 'json');
    const cliMs = performance.now() - t0;
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as FleetJson[]).map((f) => f.name).sort()).toEqual([
      'big',
      'other',
    ]);

    mark('status answered');
    // replicas 0 gets through at once, and ends the storm: queued starts are dropped unmade.
    const t1 = performance.now();
    const none = cli('deploy', fleetSpec('big', 'hello:1.0.0', 0));
    const noneMs = performance.now() - t1;
    expect(none.code, none.stderr).toBe(0);
    let replaced = false;
    for (let n = 0; n < 300; n++) {
      fleets = await probe();
      const o = fleetOf(fleets, 'other').instances;
      replaced ||=
        !o.some((i) => i.id === victim.id) &&
        o.some((i) => i.state === 'healthy' && i.integrity !== 'tainted');
      if (replaced && fleetOf(fleets, 'big').instances.length === 0) break;
      await sleep(100);
    }
    mark('big drained or gave up');
    expect(replaced, JSON.stringify(fleetOf(fleets, 'other'))).toBe(true);
    expect(fleetOf(fleets, 'big').instances).toEqual([]);
    const started = JSON.parse(
      cli('ledger', 'log', '--fleet', 'big', '--kind', 'instance-started', '-o', 'json').stdout,
    ) as unknown[];
    expect(started.length, 'queued starts were dropped, not made').toBeLessThan(40);

    console.log(
      `API: ${latencies.length} answers, max ${Math.round(Math.max(...latencies))} ms; ` +
        `ingot status ${Math.round(cliMs)} ms; replicas-0 deploy ${Math.round(noneMs)} ms; ` +
        `big instances started before the shrink: ${started.length} of 40`,
    );
    expect(
      Math.max(...latencies),
      `every API answer within 1 s (load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`,
    ).toBeLessThan(1000);
  }, 180_000);
});
