import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type IngotProcess } from './helpers/cluster.js';
import { etcdProcessesLeft } from './helpers/etcd.js';
import { startTestCluster, type TestCluster } from './helpers/test-cluster.js';

/**
 * Every server and every etcd member restarted, one at a time, while a rolling update runs
 * (the last fault of issue 18): the rollout finishes, with exactly the desired instances of the
 * new release, never one name running twice on the hosts, nothing left over in etcd or on the
 * hosts, every host's events in the ledger, and the ledger verifies.
 */

const HOSTS = ['h1', 'h2', 'h3'];
/**
 * Long enough that the rollout (three steps, each waiting this long for its new instance to
 * be ready before an old one stops) outlasts every restart.
 */
const MIN_READY_S = 30;
/** Between the starts of two restarts: the five span about 60 s of a rollout of at least 90 s. */
const SPACING_MS = 14_000;

let c: TestCluster;

beforeAll(async () => {
  c = await startTestCluster({ hosts: HOSTS, servers: 2 });
}, 240_000);

afterAll(async () => {
  const dir = c?.etcd.dir;
  await c?.stop();
  if (dir) expect(etcdProcessesLeft(dir)).toEqual([]);
}, 120_000);

function web(greeting: string, minReadySeconds: number): string {
  return c.writeFleet('web', [
    `artifact: ${c.image}`,
    'replicas: 3',
    `minReadySeconds: ${minReadySeconds}`,
    'env:',
    `  GREETING: ${greeting}`,
    'strategy:',
    '  rolling: { maxSurge: 1, maxUnavailable: 0 }',
  ]);
}

const name = (i: number) => `s${i + 1}`;
/** A server that runs now, to ask (the CLI talks to one server's address). */
const anyServer = () =>
  Math.max(
    0,
    c.servers.findIndex((s) => s?.running()),
  );

interface Rollout {
  readonly rollout: string;
  readonly release: string;
}

/** The fleet record's rollout state and release (`ingot fleets`), as a running server serves it. */
function rolloutOf(): Rollout | undefined {
  const r = c.cli(['fleets', '-o', 'json'], anyServer());
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as (Rollout & { name: string })[]).find((f) => f.name === 'web');
}

/** Healthy instances of `release`, and instances of any other release still reported. */
function progress(release: string): { fresh: number; old: number } {
  const instances = c.fleet('web', anyServer())?.instances ?? [];
  return {
    fresh: instances.filter((i) => i.release === release && i.state === 'healthy').length,
    old: instances.filter((i) => i.release !== release).length,
  };
}

/** Container ids running (runc's own list) on each host, whatever the control plane says. */
function runningIds(): Map<string, string[]> {
  return new Map(HOSTS.map((h) => [h, c.runningIdsOn(h)]));
}

/** Instance ids that run on more than one host in this sample. */
function twice(on: Map<string, string[]>): string[] {
  const seen = new Map<string, number>();
  for (const ids of on.values()) for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

/** Keys under a prefix of etcd, as root sees them. */
async function keysUnder(prefix: string): Promise<string[]> {
  const out = await c.etcd.etcdctl(['get', '--prefix', '--keys-only', prefix]);
  return out.split('\n').filter((l) => l !== '');
}

describe('every server and every etcd member restarted during a rollout', () => {
  it('the rollout finishes: the new release only, no name twice, nothing left over', async () => {
    // v1's instances must be ready (healthy for minReadySeconds) before v2 comes: one that is
    // not costs no availability, and would be replaced at once rather than step by step.
    expect(c.cli(['deploy', web('one', MIN_READY_S)]).code).toBe(0);
    await waitFor(
      'v1 rolled out',
      () => rolloutOf()?.rollout === 'complete',
      180_000,
      () => JSON.stringify(c.fleet('web'), null, 1),
    );
    const v1 = rolloutOf()!.release;

    // Processes restarted: their output, to look for errors at the end.
    const ran: IngotProcess[] = [];

    // Never one name on two hosts, sampled on the hosts themselves all along.
    const duplicates = new Set<string>();
    let samples = 0;
    let sampleError: unknown = null;
    const sampler = setInterval(() => {
      try {
        for (const id of twice(runningIds())) duplicates.add(id);
        samples++;
      } catch (err) {
        sampleError ??= err;
      }
    }, 1000);

    try {
      const deployed = c.cli(['deploy', web('two', MIN_READY_S)]);
      expect(deployed.code, deployed.stderr).toBe(0);
      const v2 = rolloutOf()!.release;
      expect(v2).not.toBe(v1);
      const started = Date.now();
      const log: string[] = [];
      const note = (what: string) => {
        const p = progress(v2);
        log.push(`${((Date.now() - started) / 1000).toFixed(1)} s ${what}: ${JSON.stringify(p)}`);
      };

      // One restart every SPACING_MS from the deploy on, so that they fall in different steps
      // of the rollout, each waiting for the one before to be back.
      const at = async (k: number) => {
        const wait = started + k * SPACING_MS - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      };
      const etcdMember = async (m: number, signal: 'SIGKILL' | 'SIGTERM') => {
        await c.etcd.kill(m, signal);
        // Back: serving, with its quorum, before anything else restarts.
        await c.etcd.restart(m);
        note(`etcd e${m + 1} restarted after ${signal}`);
      };

      // The leader, gracefully (SIGTERM): it resigns, and the other server leads.
      const first = c.servers.findIndex((_, i) => c.leader(i) === name(i));
      expect(first).toBeGreaterThanOrEqual(0);
      const other = 1 - first;
      ran.push(c.servers[first]!);
      await c.servers[first]!.stop();
      await waitFor(`${name(other)} to lead`, () => c.leader(other) === name(other), 15_000);
      await c.startServer(first);
      note(`${name(first)} (leading) restarted after SIGTERM`);

      // etcd's own Raft leader, killed.
      await at(1);
      const raftLeader = await c.etcd.raftLeader();
      await etcdMember(raftLeader, 'SIGKILL');

      // The new leading server, killed (SIGKILL): its lease runs out, the restarted one leads.
      await at(2);
      ran.push(c.servers[other]!);
      await c.servers[other]!.kill();
      await waitFor(`${name(first)} to lead`, () => c.leader(first) === name(first), 20_000);
      await c.startServer(other);
      note(`${name(other)} (leading) restarted after SIGKILL`);

      // The other two etcd members, cleanly, then killed.
      await at(3);
      await etcdMember((raftLeader + 1) % 3, 'SIGTERM');
      await at(4);
      await etcdMember((raftLeader + 2) % 3, 'SIGKILL');

      // The restarts happened during the rollout, not after it.
      const midway = rolloutOf();
      expect(midway?.rollout, log.join('\n')).toBe('progressing');
      expect(midway?.release).toBe(v2);

      await waitFor(
        'the rollout to complete',
        () => rolloutOf()?.rollout === 'complete',
        300_000,
        () =>
          [
            log.join('\n'),
            JSON.stringify(rolloutOf()),
            JSON.stringify(c.fleet('web', anyServer()), null, 1),
            ...c.servers.map((s) => s.output().slice(-4000)),
          ].join('\n----\n'),
      );
      note('rollout complete');
      const done = rolloutOf()!;
      expect(done.release).toBe(v2);

      // Exactly the desired instances of the new release, each once.
      const f = c.fleet('web', anyServer())!;
      const healthy = f.instances.filter((i) => i.state === 'healthy');
      expect(healthy.map((i) => i.release)).toEqual([v2, v2, v2]);
      const ids = f.instances.map((i) => i.id);
      expect(new Set(ids).size).toBe(ids.length);

      // On the hosts: the old release's instances stop; then exactly these three run.
      const wanted = healthy.map((i) => i.id).sort();
      const running = await waitFor(
        'only the 3 of v2 running on the hosts',
        () => {
          const on = runningIds();
          const all = [...on.values()].flat().sort();
          return JSON.stringify(all) === JSON.stringify(wanted) && on;
        },
        60_000,
        () => JSON.stringify([...runningIds()]) + '\n' + JSON.stringify(wanted),
      );
      for (const i of healthy) expect(running.get(i.host!)).toContain(i.id);

      // Nothing orphaned in etcd: one assignment and one status per instance.
      await waitFor(
        'only their status in etcd',
        async () => (await keysUnder('/ingot/status/')).length === 3,
        30_000,
      );
      const tail = (k: string) => k.split('/').at(-1)!;
      expect((await keysUnder('/ingot/assignments/')).map(tail).sort()).toEqual(wanted);
      expect((await keysUnder('/ingot/status/')).map(tail).sort()).toEqual(wanted);

      // The hosts' events reached the ledger through the restarts (kept, then delivered).
      await waitFor(
        "every v2 instance's start in the ledger, under its host",
        () => {
          const r = c.cli(['ledger', 'log', '--limit', '99999', '-o', 'json'], anyServer());
          if (r.code !== 0) return false;
          const events = JSON.parse(r.stdout) as {
            kind: string;
            instance?: string;
            actor: string;
          }[];
          return healthy.every((i) =>
            events.some(
              (e) =>
                e.kind === 'instance-started' &&
                e.instance === i.id &&
                e.actor === `agent@${i.host}`,
            ),
          );
        },
        30_000,
      );
      // The leader's record names the API of the server that leads.
      const hosts = c.cli(['hosts', '-o', 'json'], anyServer());
      const leader = (JSON.parse(hosts.stdout) as { leader: { name: string; api?: string } })
        .leader;
      expect(leader.api).toBe(c.apiOf(Number(leader.name.slice(1)) - 1));

      // No process met a programming error on the way (a restart is when they show).
      for (const p of [...ran, ...c.servers, ...c.agents.values()])
        expect(p.output()).not.toMatch(/"type":"(Reference|Type|Range|Syntax)Error"/);

      const verified = c.cli(['ledger', 'verify'], anyServer());
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      console.info(`restarts during the rollout:\n${log.join('\n')}`);
    } finally {
      clearInterval(sampler);
    }
    expect(sampleError).toBe(null);
    expect(samples).toBeGreaterThan(20);
    expect([...duplicates]).toEqual([]);
  }, 600_000);
});
