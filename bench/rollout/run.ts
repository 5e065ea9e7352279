import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { plan } from '../../src/core/planner/plan.js';
import type { FleetTarget, PlannedInstanceView } from '../../src/domain/fleet.js';

/**
 * bench/rollout: a 30-instance fleet of the example rolled from v1 to v2 (maxSurge 25 %)
 * against the bound computed from a one-instance rollout measured in the same run; the
 * planner's time for 10,000 instances; the server's memory with 30 instances running.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, 'bench', '.work', 'rollout');
const HOME = join(WORK, 'home');
const INGOT = join(ROOT, 'dist', 'bin', 'ingot.js');
const BRIDGE = 'ingotroll0';
const REPLICAS = Number(process.env['BENCH_REPLICAS'] ?? 30);

function ingot(...args: string[]): string {
  const r = spawnSync(process.execPath, [INGOT, '--home', HOME, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ingot ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function fleetFile(name: string, replicas: number, greeting: string): string {
  const file = join(WORK, `${name}-${greeting}.yaml`);
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
    ].join('\n'),
  );
  return file;
}

function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

function plannerTiming(): number {
  const NEW = 'sha256:' + 'b'.repeat(64);
  const target: FleetTarget = {
    fleet: 'big',
    releases: [{ release: NEW, count: 10_000, admitted: true }],
    replicas: 10_000,
    maxSurge: 2500,
    maxUnavailable: 0,
    minReadyMs: 1000,
    maxInstanceAgeMs: 86_400_000,
  };
  const now = 1e12;
  const observed: PlannedInstanceView[] = Array.from({ length: 10_000 }, (_, i) => ({
    id: `big-${i}`,
    release: i % 3 === 0 ? NEW : 'sha256:' + 'a'.repeat(64),
    state: i % 17 === 0 ? 'starting' : 'healthy',
    startedAt: now - 60_000,
    healthySince: now - 30_000,
    tainted: i % 101 === 0,
  }));
  const times: number[] = [];
  for (let i = 0; i < 30; i++) times.push(timed(() => plan(target, observed, now)));
  return times.sort((a, b) => a - b)[15]!;
}

function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/rollout needs root (namespaces, cgroups)');
  spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });

  const planner = plannerTiming();

  ingot(
    'up',
    '--detach',
    '--bridge',
    BRIDGE,
    '--subnet',
    '10.217.0.0/24',
    '--cgroup-parent',
    '/ingot-rollout',
    '--stop-grace',
    '1',
  );
  try {
    ingot('build', '-q', join(ROOT, 'examples', 'hello'));
    // One instance, rolled once: the time of one batch (start + health + minReady + stop).
    ingot('deploy', '--wait', fleetFile('one', 1, 'v1'));
    const batch = timed(() => ingot('deploy', '--wait', fleetFile('one', 1, 'v2')));
    ingot('deploy', '--wait', fleetFile('one', 0, 'v2'));

    const start = timed(() => ingot('deploy', '--wait', fleetFile('many', REPLICAS, 'v1')));
    const { pid } = JSON.parse(readFileSync(join(HOME, 'server.json'), 'utf8')) as { pid: number };
    const rss =
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) *
      1024;
    const roll = timed(() => ingot('deploy', '--wait', fleetFile('many', REPLICAS, 'v2')));
    const surge = Math.ceil(REPLICAS * 0.25);
    const batches = Math.ceil(REPLICAS / surge);
    const bound = batches * batch;

    console.log(
      `# bench/rollout — ${REPLICAS} instances of examples/hello, maxSurge 25 % (${surge}), maxUnavailable 0\n`,
    );
    console.log('| measure | value | vs |\n| --- | ---: | --- |');
    console.log(
      `| one instance rolled v1 → v2 (one batch: start, health, minReady 1 s, stop) | ${(batch / 1000).toFixed(2)} s | |`,
    );
    console.log(`| bound: ${batches} batches × one batch | ${(bound / 1000).toFixed(2)} s | |`);
    console.log(
      `| **${REPLICAS} instances rolled v1 → v2** | **${(roll / 1000).toFixed(2)} s** | ${(roll / bound).toFixed(2)}× the bound |`,
    );
    console.log(
      `| ${REPLICAS} instances deployed from nothing | ${(start / 1000).toFixed(2)} s | |`,
    );
    console.log(
      `| **planner, 10,000 instances, one pass** | **${planner.toFixed(1)} ms** | goal < 50 ms |`,
    );
    console.log(
      `| **server resident memory, ${REPLICAS} instances running** | **${(rss / 2 ** 20).toFixed(0)} MiB** | goal < 150 MB |`,
    );
    console.log(
      `\ngoals: rollout within 1.3× of the bound: ${roll <= 1.3 * bound ? 'met' : 'NOT met'}; planner < 50 ms: ${planner < 50 ? 'met' : 'NOT met'}; memory < 150 MB: ${rss < 150e6 ? 'met' : 'NOT met'}`,
    );
  } finally {
    spawnSync(process.execPath, [INGOT, '--home', HOME, 'down', '--stop-instances'], {
      stdio: 'inherit',
    });
    spawnSync('ip', ['link', 'delete', BRIDGE]);
    spawnSync('sh', ['-c', 'rmdir /sys/fs/cgroup/*/ingot-rollout 2>/dev/null || true']);
  }
}

main();
