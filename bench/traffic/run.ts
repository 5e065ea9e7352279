import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RuntimeClient } from '../../src/adapters/haproxy/runtime-client.js';
import { freePort } from '../../scripts/engines/ports.js';

/**
 * bench/traffic: the edge (HAProxy under `ingot up`) beside the physical alternative, a
 * client talking to one instance directly, in one run: throughput and latency at the same
 * concurrency; the time from an instance ready to its first request and from its drain to
 * its stop; and the requests failed while 30 instances are replaced under load.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, 'bench', '.work', 'traffic');
const HOME = join(WORK, 'home');
const INGOT = join(ROOT, 'dist', 'bin', 'ingot.js');
const BRIDGE = 'ingottraf0';
const REPLICAS = Number(process.env['BENCH_REPLICAS'] ?? 30);
const CONCURRENCY = 16;
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 20_000);

function ingot(...args: string[]): string {
  const r = spawnSync(process.execPath, [INGOT, '--home', HOME, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ingot ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function fleetFile(name: string, replicas: number, greeting: string, listen: string): string {
  const file = join(WORK, `${name}-${replicas}-${greeting}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'artifact: hello:1.0.0',
      `replicas: ${replicas}`,
      `env: { GREETING: ${greeting} }`,
      "strategy: { rolling: { maxSurge: '25%', maxUnavailable: 0 } }",
      'minReadySeconds: 1',
      'progressDeadline: 10m',
      'stopGrace: 0s',
      `service: { port: 8080, listen: '${listen}' }`,
    ].join('\n'),
  );
  return file;
}

interface Run {
  readonly ok: number;
  readonly failed: number;
  readonly ms: number;
  readonly latencies: number[];
}

/** `total` GETs of `url`, `concurrency` at a time on keep-alive connections. */
async function drive(
  url: string,
  concurrency: number,
  total: number,
  stopAt?: () => boolean,
): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let issued = 0;
  let failed = 0;
  const started = performance.now();
  const one = () =>
    new Promise<void>((resolve) => {
      const t = performance.now();
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - t);
          else failed++;
          resolve();
        });
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end();
    });
  const worker = async () => {
    while ((stopAt ? !stopAt() : issued < total) && issued < total) {
      issued++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return { ok: latencies.length, failed, ms: performance.now() - started, latencies };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const rps = (r: Run) => r.ok / (r.ms / 1000);

interface FleetJson {
  name: string;
  instances: { id: string; state: string; address?: string; healthySince?: string }[];
}
/** Not spawnSync: the load runs in this process and must go on while status is read. */
async function fleetOf(name: string): Promise<FleetJson> {
  const { stdout } = await run(process.execPath, [INGOT, '--home', HOME, 'status', '-o', 'json']);
  return (JSON.parse(stdout) as FleetJson[]).find((f) => f.name === name)!;
}

/** Poll `check` every 20 ms until it gives a value. */
async function until<T>(check: () => Promise<T | null>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/traffic needs root (namespaces, cgroups)');
  spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  ingot(
    'up',
    '--detach',
    '--bridge',
    BRIDGE,
    '--subnet',
    '10.218.0.0/24',
    '--cgroup-parent',
    '/ingot-traffic',
  );
  try {
    ingot('build', '-q', join(ROOT, 'examples', 'hello'));
    const one = `127.0.0.1:${await freePort()}`;
    ingot('deploy', '--wait', fleetFile('one', 1, 'v1', one));
    const address = (await fleetOf('one')).instances[0]!.address!;
    const direct = `http://${address}:8080/index.html`;
    const edge = `http://${one}/index.html`;
    await until(async () => ((await drive(edge, 1, 1)).ok === 1 ? true : null));
    // Warm both, then alternate: each side measured twice, the better run kept.
    await drive(direct, CONCURRENCY, 2000);
    await drive(edge, CONCURRENCY, 2000);
    const runs = { direct: [] as Run[], edge: [] as Run[] };
    for (let i = 0; i < 2; i++) {
      runs.direct.push(await drive(direct, CONCURRENCY, REQUESTS));
      runs.edge.push(await drive(edge, CONCURRENCY, REQUESTS));
    }
    const best = (xs: Run[]) => xs.reduce((a, b) => (rps(b) > rps(a) ? b : a));
    const d = best(runs.direct);
    const e = best(runs.edge);

    // Ready → first request, and drain → stopped: one instance added, then taken away, under load.
    const admin = new RuntimeClient(join(HOME, 'edge', 'admin.sock'));
    const before = new Set((await fleetOf('one')).instances.map((i) => i.id));
    let loading = true;
    const background = drive(edge, 4, Number.MAX_SAFE_INTEGER, () => !loading);
    await run(process.execPath, [INGOT, '--home', HOME, 'deploy', fleetFile('one', 2, 'v1', one)]);
    const added = await until(async () => {
      const i = (await fleetOf('one')).instances.find((x) => !before.has(x.id) && x.healthySince);
      return i ?? null;
    });
    const firstRequestAt = await until(async () =>
      (await admin.stats()).some((c) => c.server === added.id && c.sessions > 0)
        ? Date.now()
        : null,
    );
    const readyAt = Date.parse(added.healthySince!) + 1000; // minReadySeconds: 1
    await run(process.execPath, [INGOT, '--home', HOME, 'deploy', fleetFile('one', 1, 'v1', one)]);
    const drainedAt = await until(async () =>
      (await admin.stats()).some((c) => /DRAIN/.test(c.status)) ? Date.now() : null,
    );
    const stoppedAt = await until(async () =>
      (await fleetOf('one')).instances.length === 1 ? Date.now() : null,
    );
    loading = false;
    const steady = await background;

    // 30 instances replaced under load (slow requests, instances killed when told to stop).
    const many = `127.0.0.1:${await freePort()}`;
    ingot('deploy', '--wait', fleetFile('many', REPLICAS, 'v1', many));
    let rolling = true;
    const underLoad = drive(
      `http://${many}/cgi-bin/greeting?slow`,
      8,
      Number.MAX_SAFE_INTEGER,
      () => !rolling,
    );
    const rollMs = performance.now();
    await run(process.execPath, [
      INGOT,
      '--home',
      HOME,
      'deploy',
      '--wait',
      fleetFile('many', REPLICAS, 'v2', many),
    ]);
    const rolled = performance.now() - rollMs;
    await new Promise((r) => setTimeout(r, 2000));
    rolling = false;
    const roll = await underLoad;

    console.log(
      `# bench/traffic — examples/hello behind the edge (HAProxy 2.6), ${CONCURRENCY} keep-alive clients\n`,
    );
    console.log(
      '| measure | edge | direct to one instance | edge ÷ direct | goal |\n| --- | ---: | ---: | ---: | --- |',
    );
    console.log(
      `| throughput (GET /index.html) | ${rps(e).toFixed(0)} req/s | ${rps(d).toFixed(0)} req/s | ${(rps(e) / rps(d)).toFixed(2)}× | ≥ 0.85× |`,
    );
    console.log(
      `| p50 latency | ${pct(e.latencies, 50).toFixed(2)} ms | ${pct(d.latencies, 50).toFixed(2)} ms | ${(pct(e.latencies, 50) / pct(d.latencies, 50)).toFixed(2)}× | |`,
    );
    console.log(
      `| p99 latency | ${pct(e.latencies, 99).toFixed(2)} ms | ${pct(d.latencies, 99).toFixed(2)} ms | ${(pct(e.latencies, 99) / pct(d.latencies, 99)).toFixed(2)}× | ≤ 1.15× |`,
    );
    console.log(`| failed requests (of ${REQUESTS} each) | ${e.failed} | ${d.failed} | | 0 |`);
    console.log('\n| measure | value |\n| --- | ---: |');
    console.log(
      `| instance ready (healthy + minReadySeconds) → its first request | ${((firstRequestAt - readyAt) / 1000).toFixed(2)} s |`,
    );
    console.log(`| drain → instance stopped | ${((stoppedAt - drainedAt) / 1000).toFixed(2)} s |`);
    console.log(
      `| failed requests during the scale up and down (${steady.ok} answered) | ${steady.failed} |`,
    );
    console.log(
      `| **${REPLICAS} instances rolled v1 → v2 under load: failed requests** | **${roll.failed}** of ${roll.ok + roll.failed} (goal 0), rollout ${(rolled / 1000).toFixed(1)} s |`,
    );
  } finally {
    spawnSync(process.execPath, [INGOT, '--home', HOME, 'down', '--stop-instances'], {
      stdio: 'inherit',
    });
    spawnSync('ip', ['link', 'delete', BRIDGE]);
    spawnSync('sh', ['-c', 'rmdir /sys/fs/cgroup/*/ingot-traffic 2>/dev/null || true']);
  }
}

await main();
