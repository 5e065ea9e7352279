import { cpus, loadavg } from 'node:os';
import type { EtcdCounters } from './etcd-counters.js';
import type { Pass } from './leader.js';
import {
  C1M_RATE,
  ELECTION_TIMEOUT_MS,
  FLEETS,
  FULL_REPORT_S,
  GOAL_PASS_MS,
  GOAL_RATE,
  GOAL_WRITES,
  HOST_TTL_S,
  HOSTS,
  INSTANCES,
  INTERVAL_MS,
  LEADER_TTL_S,
  PER_FLEET,
  STEADY_S,
} from './settings.js';

export interface PlacementFigures {
  readonly startHostsMs: number;
  readonly admitMs: number;
  readonly cold: Pass;
  readonly coldPlaced: number;
  readonly allHealthyMs: number;
  readonly steady: readonly Pass[];
  readonly writes: EtcdCounters;
  readonly writesSeconds: number;
  readonly loopPasses: readonly Pass[];
  readonly memoryBefore: Memory;
  readonly memory: Memory;
  readonly hostMemory: readonly { rss: number; heapUsed: number }[];
  /** The leader's full listings of the cluster, and folders its watches re-listed, this term. */
  readonly listings: { readonly listed: number; readonly relisted: number };
}

/** Resident memory, heap used, and the heap's live part (after a full collection). */
export interface Memory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly liveHeap: number;
}

export interface LossFigures {
  readonly host: string;
  readonly moved: number;
  readonly lostSeenMs: number;
  readonly healthyMs: number;
}

export interface FailoverFigures {
  readonly leadMs: number;
  readonly firstPassMs: number;
  readonly firstPassHealthy: number;
  readonly writes: EtcdCounters;
  readonly etcdFailoverMs: number;
}

export const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const MIB = 2 ** 20;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;
export const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
const x = (n: number) => `${n.toFixed(2)}×`;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** A table of three columns: what, the value, what it compares against. */
function table(title: string, rows: readonly (readonly [string, string, string])[]): string[] {
  const w0 = Math.max(6, ...rows.map((r) => r[0].length));
  const w1 = Math.max(5, ...rows.map((r) => r[1].length));
  const w2 = Math.max(7, ...rows.map((r) => r[2].length));
  const line = (a: string, b: string, c: string) =>
    `| ${a.padEnd(w0)} | ${b.padStart(w1)} | ${c.padEnd(w2)} |`;
  return [
    title,
    line('figure', 'value', 'against'),
    `| ${'-'.repeat(w0)} | ${'-'.repeat(w1 - 1)}: | ${'-'.repeat(w2)} |`,
    ...rows.map(([a, b, c]) => line(a, b, c)),
    '',
  ];
}

function placementRows(f: PlacementFigures): [string, string, string][] {
  const rate = (f.coldPlaced / f.cold.ms) * 1000;
  const steadyMs = f.steady.map((p) => p.ms);
  const loopMs = f.loopPasses.map((p) => p.ms);
  const perSecond = (n: number) => n / f.writesSeconds;
  const keys = perSecond(f.writes.puts + f.writes.deletes);
  const full = INSTANCES / FULL_REPORT_S;
  const hostRss = f.hostMemory.reduce((s, m) => s + m.rss, 0);
  const n = INSTANCES.toLocaleString('en');
  return [
    [
      `first pass placing all ${n}`,
      sec(f.cold.ms),
      `read ${sec(f.cold.observeMs)}, place + write ${sec(f.cold.applyMs)}; this process's CPU ${sec(f.cold.cpuMs)}`,
    ],
    [
      'placement rate (placed ÷ that pass)',
      `${Math.round(rate).toLocaleString('en')}/s`,
      `goal ${GOAL_RATE.toLocaleString('en')}/s: ${x(rate / GOAL_RATE)}; Nomad C1M ${C1M_RATE.toLocaleString('en')}/s: ${x(rate / C1M_RATE)}`,
    ],
    [
      `cold pass → all ${n} healthy, rollouts complete`,
      sec(f.allHealthyMs),
      `hosts report every 1 s, passes every ${INTERVAL_MS} ms`,
    ],
    [
      'one pass at steady state, median (max)',
      `${sec(median(steadyMs))} (${sec(Math.max(...steadyMs))})`,
      `goal < ${sec(GOAL_PASS_MS)}: ${x(median(steadyMs) / GOAL_PASS_MS)}; read ${sec(median(f.steady.map((p) => p.observeMs)))}, apply ${sec(median(f.steady.map((p) => p.applyMs)))}; this process's CPU ${sec(median(f.steady.map((p) => p.cpuMs)))}`,
    ],
    [
      "the leader's full listings of the cluster",
      String(f.listings.listed),
      `this term, to the window's end (${f.listings.relisted} folders re-listed by a watch); ${f.steady.length + f.loopPasses.length} passes measured`,
    ],
    [
      `passes of the loop in the ${STEADY_S} s window`,
      `${sec(median(loopMs))} (${sec(Math.max(...loopMs))})`,
      `median (max) of ${loopMs.length} passes`,
    ],
    [
      'etcd keys written/s at steady state',
      keys.toFixed(2),
      `goal < ${GOAL_WRITES}/s; ${f.writes.puts} puts, ${f.writes.deletes} deletes in ${f.writesSeconds.toFixed(1)} s`,
    ],
    [
      '… with the full status reports averaged',
      (keys + full).toFixed(1),
      `+ ${n} statuses every ${FULL_REPORT_S} s = ${full.toFixed(1)}/s: ${x((keys + full) / GOAL_WRITES)} the goal`,
    ],
    [
      'etcd revisions/s, Raft proposals/s',
      `${perSecond(f.writes.revision).toFixed(2)}, ${perSecond(f.writes.proposals).toFixed(2)}`,
      `${f.writes.txns} transactions`,
    ],
    [
      'leader process: RSS, heap used (live)',
      `${mib(f.memory.rss)}, ${mib(f.memory.heapUsed)} (${mib(f.memory.liveHeap)})`,
      `no host, no fleet yet: ${mib(f.memoryBefore.rss)}, ${mib(f.memoryBefore.heapUsed)} (${mib(f.memoryBefore.liveHeap)})`,
    ],
    [
      "simulated hosts' processes, RSS",
      mib(hostRss),
      `${f.hostMemory.length} processes; not the server's`,
    ],
  ];
}

export function report(p: PlacementFigures, l: LossFigures, f: FailoverFigures): string {
  const rate = (p.coldPlaced / p.cold.ms) * 1000;
  const steady = median(p.steady.map((s) => s.ms));
  const keys = (p.writes.puts + p.writes.deletes) / p.writesSeconds;
  const averaged = keys + INSTANCES / FULL_REPORT_S;
  const lines = [
    `bench/cluster: ${HOSTS} SIMULATED hosts, ${FLEETS} fleets × ${PER_FLEET} = ${INSTANCES.toLocaleString('en')} instances`,
    'Real: etcd 3.4 (3 members, plain HTTP, no auth), PostgreSQL 15 (fsync off), Controller,',
    "ClusterAgents, Term, HostLoop. Simulated: each host's runtime (an instance runs and is healthy",
    'the moment it is assigned; no container starts). The leader runs in this process, the hosts in',
    `${p.hostMemory.length} child processes with one etcd connection each.`,
    `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; load average at the end ${load()}`,
    `Set-up: hosts registered and following in ${sec(p.startHostsMs)}; the pass admitting them ${sec(p.admitMs)}.`,
    '',
    ...table('1. placement, one pass, etcd writes, memory', placementRows(p)),
    ...table('2. a host lost → its instances replaced and healthy elsewhere', [
      [
        'agent stopped → the leader sees the host lost',
        sec(l.lostSeenMs),
        `host lease TTL ${HOST_TTL_S} s: ${x(l.lostSeenMs / 1000 / HOST_TTL_S)}`,
      ],
      [
        `agent stopped → its ${l.moved} instances healthy elsewhere`,
        sec(l.healthyMs),
        `TTL: ${x(l.healthyMs / 1000 / HOST_TTL_S)}; TTL + one pass interval: ${x(l.healthyMs / (HOST_TTL_S * 1000 + INTERVAL_MS))}`,
      ],
    ]),
    ...table("3. leader failover (the leader's lease left to expire, as after a crash)", [
      [
        'leader stopped → the standby leads',
        sec(f.leadMs),
        `leader lease TTL ${LEADER_TTL_S} s: ${x(f.leadMs / 1000 / LEADER_TTL_S)}; the issue's "within 5 s": ${met(f.leadMs < 5000)}`,
      ],
      [
        "leader stopped → the standby's first pass done",
        sec(f.firstPassMs),
        `TTL: ${x(f.firstPassMs / 1000 / LEADER_TTL_S)}; that pass alone ${sec(f.firstPassMs - f.leadMs)}`,
      ],
      [
        'instances its first pass saw healthy',
        String(f.firstPassHealthy),
        `of ${INSTANCES}; etcd meanwhile: ${f.writes.puts} puts, ${f.writes.deletes} deletes`,
      ],
      [
        "peer: etcd's Raft leader killed → another leads",
        sec(f.etcdFailoverMs),
        `etcd's election timeout ${sec(ELECTION_TIMEOUT_MS)}: ${x(f.etcdFailoverMs / ELECTION_TIMEOUT_MS)}`,
      ],
    ]),
    'goals:',
    `  placement ≥ ${GOAL_RATE.toLocaleString('en')} instances/s:      ${Math.round(rate).toLocaleString('en')}/s ${met(rate >= GOAL_RATE)}`,
    `  one pass < 1 s at steady state:       ${sec(steady)} ${met(steady < GOAL_PASS_MS)}`,
    `  etcd writes < ${GOAL_WRITES}/s at steady state: ${keys.toFixed(2)}/s measured, ${averaged.toFixed(1)}/s with full reports averaged ${met(averaged < GOAL_WRITES)}`,
  ];
  return lines.join('\n') + '\n';
}
