// What the process-event source costs, beside its peer, the /proc scan it backs up (run as
// root: `node --import tsx bench/integrity/process-events.ts`):
//
// - CPU of the helper (python3, from /proc/PID/schedstat, ns) and of this Node process
//   (process.cpuUsage: the reader, the parsing) at idle, and during 1,000 forks and execs
//   (a) on the host, outside any instance: dropped by the helper after three readlinks;
//   (b) inside a PID + mount namespace of their own, as an instance's own churn: every one
//   read in full and parsed in Node;
//   beside the storm's own CPU (bash's `times`, user + sys of the loop and its children).
// - Delivery latency: the kernel's timestamp of each exec (CLOCK_MONOTONIC) to its arrival
//   here (process.hrtime, the same clock), during storm (b).
// - Peer: one scan of /proc by the second line (scanProcesses), which runs once a second.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startProcessEvents } from '../../src/adapters/integrity/proc-events.js';
import { scanProcesses } from '../../src/adapters/integrity/proc.js';

const FORKS = Number(process.env['BENCH_FORKS'] ?? 1000);
const IDLE_MS = Number(process.env['BENCH_IDLE_MS'] ?? 10_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const helperNs = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
const nodeNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
const ms = (ns: number) => (ns / 1e6).toFixed(1);

if (process.getuid?.() !== 0) throw new Error('run as root: the proc connector needs it');

const source = await startProcessEvents();
const pid = source.helperPid()!;
let events = 0;
let lost = 0;
const latencies: number[] = [];
source.subscribe({
  onProcess: (e) => {
    events++;
    if (e.kind === 'exec' && e.ts !== undefined)
      latencies.push(Number(process.hrtime.bigint()) - e.ts);
  },
  onLost: () => void lost++,
});
await sleep(500);

/** CPU of the helper and of Node over `run` (ns), and what `run` returns. */
async function measure<T>(
  run: () => Promise<T>,
): Promise<{ helper: number; node: number; out: T }> {
  const [h0, n0] = [helperNs(pid), nodeNs()];
  const out = await run();
  await sleep(500); // let queued events drain
  return { helper: helperNs(pid) - h0, node: nodeNs() - n0 - 500_000 * 0, out };
}

/**
 * A shell loop forking `n` /bin/true; returns its wall time and its own CPU (ns). Spawned
 * asynchronously: this process keeps reading events meanwhile, as the agent does.
 */
async function storm(prefix: string[]): Promise<{ wallNs: number; cpuNs: number }> {
  const loop = `i=0; while [ $i -lt ${FORKS} ]; do /bin/true; i=$((i+1)); done; times`;
  const t = process.hrtime.bigint();
  const child = spawn(prefix[0]!, [...prefix.slice(1), 'bash', '-c', loop], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  await new Promise((r) => child.on('close', r));
  const wallNs = Number(process.hrtime.bigint() - t);
  // `times`: "0m0.010s 0m0.020s" for the shell, then for its children.
  const secs = [...stdout.matchAll(/(\d+)m([\d.]+)s/g)].map(
    (m) => Number(m[1]) * 60 + Number(m[2]),
  );
  return { wallNs, cpuNs: secs.reduce((a, b) => a + b, 0) * 1e9 };
}

const idle = await measure(() => sleep(IDLE_MS));
const host = await measure(() => storm(['env']));
const eventsBefore = events;
latencies.length = 0;
const inNs = await measure(() => storm(['unshare', '-fpm', '--mount-proc']));
const nsEvents = events - eventsBefore;
await source.close();

const scans: number[] = [];
for (let n = 0; n < 20; n++) {
  const t = process.hrtime.bigint();
  const found = scanProcesses().length;
  scans.push(Number(process.hrtime.bigint() - t));
  if (found === 0) throw new Error('no processes scanned');
}
scans.sort((a, b) => a - b);
latencies.sort((a, b) => a - b);
const pct = (xs: number[], p: number) =>
  xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

console.log(`process events (proc connector), ${FORKS} forks+execs per storm`);
console.log(
  `  idle ${IDLE_MS / 1000} s: helper ${ms(idle.helper)} ms CPU (${((idle.helper / (IDLE_MS * 1e6)) * 100).toFixed(3)} % of a core), node ${ms(idle.node)} ms`,
);
// Other processes in namespaces of their own (instances, tests) keep the helper busy even
// "at idle" on a shared host: the idle rate, over the storm's wall time, is taken off.
const idleRate = idle.helper / (IDLE_MS * 1e6);
for (const [name, m] of [
  ['storm on the host (outside any instance)', host],
  ['storm in a namespace of its own (as an instance)', inNs],
] as const) {
  const marginal = m.helper - idleRate * m.out.wallNs;
  console.log(
    `  ${name}: storm ${ms(m.out.wallNs)} ms wall, ${ms(m.out.cpuNs)} ms CPU; helper ${ms(m.helper)} ms CPU, ${ms(marginal)} ms above idle (${((marginal / m.out.cpuNs) * 100).toFixed(1)} % of the storm's own CPU, ${(marginal / FORKS / 1000).toFixed(0)} µs a fork+exec); node ${ms(m.node)} ms CPU`,
  );
}
console.log(
  `  events reaching node: ${nsEvents} in the namespace storm, ${eventsBefore} otherwise; lost reported ${lost} times`,
);
console.log(
  `  exec -> node delivery (kernel timestamp to arrival): p50 ${ms(pct(latencies, 0.5))} ms, p99 ${ms(pct(latencies, 0.99))} ms, max ${ms(pct(latencies, 1))} ms (n=${latencies.length})`,
);
console.log(
  `  peer: one /proc scan (runs every second) ${ms(pct(scans, 0.5))} ms median: ${((pct(scans, 0.5) / 1e9) * 100).toFixed(2)} % of a core at idle, vs the helper's ${((idle.helper / (IDLE_MS * 1e6)) * 100).toFixed(3)} %`,
);
