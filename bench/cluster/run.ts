import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { openControlCoordination } from '../../src/adapters/etcd/index.js';
import { openServerLedger } from '../../src/bin/server-ledger.js';
import { openState, type State } from '../../src/bin/open-state.js';
import type { LedgerEntryDraft } from '../../src/core/ledger/index.js';
import type { ControlCoordination } from '../../src/ports/coordination.js';
import { campaignForever, Term } from '../../src/services/cluster/term.js';
import { startEtcdCluster, type EtcdCluster } from '../../test/helpers/etcd.js';
import { startPostgres } from '../../test/helpers/postgres.js';
import { countersSince, etcdCounters, isRaftLeader } from './etcd-counters.js';
import { writeFleets } from './fleets.js';
import { healthy, Leader, type Pass } from './leader.js';
import {
  load,
  median,
  report,
  sec,
  type FailoverFigures,
  type LossFigures,
  type Memory,
  type PlacementFigures,
} from './report.js';
import {
  FLEETS,
  HOST_TTL_S,
  HOSTS,
  INSTANCES,
  INTERVAL_MS,
  LEADER_TTL_S,
  PER_FLEET,
  PROCESSES,
  STEADY_PASSES,
  STEADY_S,
} from './settings.js';
import { SimulatedHosts, type SimulatedHostSpec } from './simulated-hosts.js';

/**
 * bench/cluster (issue 18): the control plane of a cluster of 200 hosts and 10,000 instances
 * on a real etcd (3 members) and a real PostgreSQL 15, with the real Controller, ClusterAgents,
 * Term and HostLoop. The hosts are SIMULATED: each is a HostLoop (lease, watch, reports) whose
 * runtime is a fake that runs an instance at once and reports it healthy; no container starts.
 *
 * Side by side in one run, each with what it compares against:
 *  1. the first controller pass that places every instance (beside the 1,000/s and
 *     Nomad's C1M, 3,750/s), one pass at steady state (goal < 1 s), etcd's writes at steady
 *     state (goal < 1/s per 100 idle instances) and the leader process's memory;
 *  2. a host's agent stopped as a crash would → its instances replaced and healthy elsewhere,
 *     against the host lease's TTL (10 s);
 *  3. the leader stopped as a crash would (its lease left to expire) → the standby leads and
 *     its first pass is done, against the leader lease's TTL (3 s); beside it etcd's own
 *     leader failover (its Raft leader killed) and its election timeout (1 s).
 */

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const reconcileFailed = (err: unknown) =>
  log(`reconcile failed: ${err instanceof Error ? err.message : String(err)}`);

/**
 * The process's memory as it is, and its heap's live part: after a full collection, when the
 * bench runs with --expose-gc (npm run bench:cluster does).
 */
function memoryNow(): Memory {
  const { rss, heapUsed } = process.memoryUsage();
  (globalThis as { gc?: () => void }).gc?.();
  return { rss, heapUsed, liveHeap: process.memoryUsage().heapUsed };
}

/** Everything the bench started, stopped in reverse order (also on failure or a signal). */
class Started {
  private readonly stops: { what: string; stop: () => Promise<unknown> }[] = [];

  add(what: string, stop: () => Promise<unknown>): void {
    this.stops.push({ what, stop });
  }

  async stopAll(): Promise<void> {
    while (this.stops.length > 0) {
      const { what, stop } = this.stops.pop()!;
      try {
        await stop();
      } catch (err) {
        log(`stopping ${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

interface Cluster {
  readonly etcd: EtcdCluster;
  readonly endpoints: readonly string[];
  readonly state: State;
  readonly record: (e: LedgerEntryDraft) => void;
  readonly hosts: SimulatedHosts;
}

function hostSpecs(): SimulatedHostSpec[] {
  return Array.from({ length: HOSTS }, (_, n) => ({
    name: `host-${String(n).padStart(3, '0')}`,
    labels: { zone: `z${n % 4}`, disk: n % 2 === 0 ? 'ssd' : 'hdd' },
  }));
}

/** etcd, PostgreSQL with the state and the server's ledger; no host yet. */
async function startEngines(started: Started): Promise<Omit<Cluster, 'hosts'>> {
  const etcd = await startEtcdCluster();
  started.add('etcd', () => etcd.stop());
  const pg = await startPostgres({ fast: true });
  started.add('PostgreSQL', () => pg.stop());
  const state = await openState(await pg.createDatabase());
  started.add('the state', () => state.close());
  const home = mkdtempSync(join(tmpdir(), 'ingot-bench-cluster-'));
  started.add('the home', () => Promise.resolve(rmSync(home, { recursive: true, force: true })));
  const ledger = await openServerLedger(home, state, pino({ level: 'silent' }));
  started.add('the ledger', () => ledger.recorder.close());
  log(`etcd (3 members) and PostgreSQL up; load ${load()}`);
  return {
    etcd,
    endpoints: [...etcd.endpoints],
    state,
    record: (e) => ledger.recorder.record(e),
  };
}

/**
 * With BENCH_PROFILE=FILE, a CPU profile of this process (the leader) over the steady passes
 * alone, written to FILE (open it in Chrome's DevTools); the returned function ends it.
 */
async function profiling(): Promise<() => Promise<void>> {
  const file = process.env['BENCH_PROFILE'];
  if (file === undefined || file === '') return () => Promise.resolve();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    log(`CPU profile of the steady passes: ${file}`);
  };
}

/** Until every simulated host's registration is in etcd (its agent retries one that failed). */
async function registered(control: ControlCoordination, timeoutMs: number): Promise<void> {
  const t = performance.now();
  for (;;) {
    const { hosts } = await control.listHosts();
    const n = hosts.filter((h) => h.registration !== null).length;
    if (n === HOSTS) return;
    if (performance.now() - t > timeoutMs)
      throw new Error(`${n} of ${HOSTS} hosts registered after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/** 1. Hosts join, fleets are written, the first pass places them all; then steady state. */
async function placement(
  started: Started,
  c: Cluster,
  control: ControlCoordination,
): Promise<{ leader: Leader; figures: PlacementFigures }> {
  const memoryBefore = memoryNow();
  let t = performance.now();
  await c.hosts.start(c.endpoints, hostSpecs(), PROCESSES, HOST_TTL_S);
  // Following is not registered: an agent whose registration etcd answered too late retries.
  await registered(control, 60_000);
  const startHostsMs = performance.now() - t;
  log(`${HOSTS} simulated hosts registered and following in ${sec(startHostsMs)}; load ${load()}`);
  const leadership = await control.campaign({ name: 'a' }, { ttlSeconds: LEADER_TTL_S });
  const leader = new Leader(control, leadership, c.state, c.record, reconcileFailed);
  started.add('leader A', () => leader.close());
  // A pass before any fleet admits the hosts that registered.
  t = performance.now();
  await leader.pass();
  const admitMs = performance.now() - t;
  const live = (await control.listHosts()).hosts.filter((h) => h.state === 'live').length;
  if (live !== HOSTS) throw new Error(`${live} of ${HOSTS} hosts are live after admission`);

  await writeFleets(c.state.fleets, FLEETS, PER_FLEET, Date.now());
  const cold = await leader.pass();
  const coldPlaced = leader.assigned();
  log(`cold pass: ${coldPlaced} placed in ${sec(cold.ms)}; load ${load()}`);
  if (coldPlaced !== INSTANCES)
    log(`  NOT all placed: ${leader.agents.reasonsOf('fleet-00').slice(0, 3).join('; ')}`);
  leader.run();
  const done = await leader.until(
    (p) => p.settled,
    300_000,
    'every instance healthy and every rollout complete',
  );
  const allHealthyMs = done.start + done.ms - cold.start;
  log(`all healthy, rollouts complete, ${sec(allHealthyMs)} after the cold pass began`);

  // Passes back to back (the loop paused), then the server's loop for STEADY_S.
  await leader.stop();
  const steady: Pass[] = [];
  const profile = await profiling();
  for (let i = 0; i < STEADY_PASSES; i++) {
    steady.push(await leader.pass());
    await sleep(INTERVAL_MS);
  }
  await profile();
  log(`steady pass: median ${sec(median(steady.map((p) => p.ms)))}; load ${load()}`);
  leader.run();
  const from = leader.passes.length;
  const before = await etcdCounters(c.etcd.endpoint(0));
  t = performance.now();
  await sleep(STEADY_S * 1000);
  const writes = countersSince(before, await etcdCounters(c.etcd.endpoint(0)));
  const writesSeconds = (performance.now() - t) / 1000;
  log(`steady state: ${writes.puts} puts, ${writes.deletes} deletes; load ${load()}`);
  return {
    leader,
    figures: {
      startHostsMs,
      admitMs,
      cold,
      coldPlaced,
      allHealthyMs,
      steady,
      writes,
      writesSeconds,
      loopPasses: leader.passes.slice(from),
      memoryBefore,
      memory: memoryNow(),
      listings: leader.agents.listings(),
      hostMemory: await c.hosts.memory(),
    },
  };
}

/** 2. One host's agent stops as a crash would: its lease expires within its TTL. */
async function hostLoss(c: Cluster, leader: Leader): Promise<LossFigures> {
  const host = 'host-007';
  const moved = leader.assigned(host);
  const t = performance.now();
  // Counted to the end of the pass's reading: when the leader knows.
  const read = (p: Pass) => p.start + p.observeMs - t;
  const lost = (p: Pass) => p.start >= t && leader.hostState(host) === 'lost';
  const seen = leader.until(lost, 60_000, `${host} seen lost`);
  const replaced = leader.until(
    (p) => lost(p) && p.settled,
    120_000,
    `${host}'s instances replaced`,
  );
  await c.hosts.kill(host);
  const lostSeenMs = read(await seen);
  const healthyMs = read(await replaced);
  log(`host lost → ${moved} replacements healthy in ${sec(healthyMs)}; load ${load()}`);
  return { host, moved, lostSeenMs, healthyMs };
}

/**
 * 3. A standby (a Term campaigning as cluster-server.ts does) takes over when the leader's
 * lease is left to expire; then etcd's own Raft leader is killed, for comparison.
 */
async function failover(started: Started, c: Cluster, leader: Leader): Promise<FailoverFigures> {
  const control = openControlCoordination({ endpoints: c.endpoints });
  started.add('server B', () => control.close());
  const term = new Term({
    control,
    fleets: c.state.fleets,
    record: c.record,
    now: () => Date.now(),
    actor: 'server@b',
    admitted: () => Promise.resolve(true),
    log: quiet,
    intervalMs: INTERVAL_MS,
  });
  const abort = new AbortController();
  const campaigning = campaignForever(control, term, {
    name: 'b',
    ttlSeconds: LEADER_TTL_S,
    signal: abort.signal,
    api: () => '',
    log: quiet,
  });
  started.add('server B', async () => {
    abort.abort();
    await term.end();
    await campaigning;
  });
  await sleep(2000); // B stands by: its lease granted, the leader key watched
  if (term.agents !== null) throw new Error('the standby leads while the leader lives');
  const before = await etcdCounters(c.etcd.endpoint(0));
  const t = performance.now();
  leader.leadership.lease.release(); // as a crashed process: no keep-alive, no resign
  const stopping = leader.stop(); // and no pass after the one under way
  let leadMs = NaN;
  while (term.status().length < FLEETS) {
    if (Number.isNaN(leadMs) && term.agents !== null) leadMs = performance.now() - t;
    if (performance.now() - t > 60_000) throw new Error('the standby did not lead within 60 s');
    await sleep(5);
  }
  const firstPassMs = performance.now() - t;
  const firstPassHealthy = healthy(term.status()).count;
  const writes = countersSince(before, await etcdCounters(c.etcd.endpoint(0)));
  await stopping;
  log(`leader failover: leads after ${sec(leadMs)}, first pass done after ${sec(firstPassMs)}`);
  const etcdFailoverMs = await etcdFailover(c.etcd);
  log(`etcd's Raft leader killed → another leads after ${sec(etcdFailoverMs)}`);
  return { leadMs, firstPassMs, firstPassHealthy, writes, etcdFailoverMs };
}

/** etcd's Raft leader killed, until another member says it leads (/metrics, every 10 ms). */
async function etcdFailover(etcd: EtcdCluster): Promise<number> {
  const raftLeader = await etcd.raftLeader();
  const others = [0, 1, 2].filter((m) => m !== raftLeader).map((m) => etcd.endpoint(m));
  const t = performance.now();
  await etcd.kill(raftLeader);
  while (performance.now() - t < 30_000) {
    const leads = await Promise.all(others.map((u) => isRaftLeader(u).catch(() => false)));
    if (leads.some(Boolean)) return performance.now() - t;
    await sleep(10);
  }
  return NaN;
}

async function measure(started: Started): Promise<string> {
  const engines = await startEngines(started);
  const hosts = new SimulatedHosts();
  started.add('the simulated hosts', async () => {
    const warnings = await hosts.stop();
    for (const [w, n] of Object.entries(warnings)) log(`  simulated hosts logged ${n}× "${w}"`);
  });
  const c: Cluster = { ...engines, hosts };
  const control = openControlCoordination({ endpoints: c.endpoints });
  started.add('server A', () => control.close());
  const { leader, figures } = await placement(started, c, control);
  const loss = await hostLoss(c, leader);
  return report(figures, loss, await failover(started, c, leader));
}

async function main(): Promise<void> {
  const started = new Started();
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping everything`);
    void started.stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  log(
    `bench/cluster: ${HOSTS} simulated hosts, ${INSTANCES} instances; ${cpus().length} cores; load ${load()}`,
  );
  try {
    process.stdout.write(await measure(started));
  } finally {
    await started.stopAll();
  }
}

await main();
