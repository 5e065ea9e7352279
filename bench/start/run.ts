import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CniNetwork } from '../../src/adapters/cni/cni.js';
import { createAgent } from '../../src/bin/agent.js';
import type { Digest } from '../../src/domain/digest.js';
import type { Agent } from '../../src/services/agent/index.js';

/**
 * bench/start: from an admitted artifact in the store (rootfs cached) to a running
 * instance, next to bare `runc run -d` of the same bundle made by hand, with and without
 * the same CNI networking; then 50 instances at once.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, 'bench', '.work', 'start');
const HOME = join(WORK, 'home');
const INGOT = join(ROOT, 'dist', 'bin', 'ingot.js');
const RUNS = Math.max(3, Number(process.env['BENCH_RUNS'] ?? 7));
const CONCURRENT = Number(process.env['BENCH_CONCURRENT'] ?? 50);
const BRIDGE = 'ingotbench0';
const SUBNET = '10.214.0.0/23';
const CGROUP = '/ingot-bench';

function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function waitState(agent: Agent, ids: readonly string[], state: string, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const seen = await agent.observe();
    const bad = seen.find(
      (i) => ids.includes(i.id) && (i.state === 'failed' || i.state === 'refused'),
    );
    if (bad) throw new Error(`${bad.id}: ${bad.state}: ${bad.reason}`);
    if (ids.every((id) => seen.find((i) => i.id === id)?.state === state)) return;
    if (Date.now() > end) throw new Error(`timeout waiting for ${state}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function cgroupBytes(id: string): number {
  return Number(
    readFileSync(
      join('/sys/fs/cgroup/memory', CGROUP.slice(1), id, 'memory.usage_in_bytes'),
      'utf8',
    ),
  );
}

/** Ingot built, a signing key made, the example built and signed into the store: its digest. */
function prepare(): Digest {
  if (process.getuid?.() !== 0) throw new Error('bench/start needs root (namespaces, cgroups)');
  spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  sh('node', [INGOT, 'key', 'generate', '--out', WORK, '--name', 'bench']);
  return sh('node', [
    INGOT,
    '--home',
    HOME,
    'build',
    '-q',
    '--key',
    join(WORK, 'bench.key'),
    join(ROOT, 'examples', 'hello'),
  ]).trim() as Digest;
}

/** What bare runc's bundle is made from: the warm instance's runtime config. */
interface RuntimeSpec {
  linux: { namespaces: { type: string; path?: string }[]; cgroupsPath: string };
}

/** Warm-up: materialise the rootfs once, keep a bundle to copy for bare runc. */
async function warmUp(agent: Agent, artifact: Digest): Promise<RuntimeSpec> {
  await agent.apply([{ id: 'warm', fleet: 'bench', artifact }]);
  await waitState(agent, ['warm'], 'healthy');
  const spec = JSON.parse(
    readFileSync(join(HOME, 'instances', 'warm', 'config.json'), 'utf8'),
  ) as RuntimeSpec;
  // Keep the rootfs cached: one instance stays up during the runs.
  return spec;
}

/** Ingot, RUNS times: apply → running, then the health wait, beside the warm instance. */
async function ingotStarts(agent: Agent, artifact: Digest) {
  const ingotStart: number[] = [];
  const healthWait: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const id = `run-${i}`;
    const t0 = performance.now();
    await agent.apply([
      { id: 'warm', fleet: 'bench', artifact },
      { id, fleet: 'bench', artifact },
    ]);
    const t1 = performance.now();
    await waitState(agent, [id], 'healthy');
    healthWait.push(performance.now() - t1);
    ingotStart.push(t1 - t0);
    await agent.apply([{ id: 'warm', fleet: 'bench', artifact }]);
  }
  return { ingotStart, healthWait };
}

/** Bare runc: the same rootfs and config, made by hand, without and with CNI networking. */
async function bareStarts(spec: RuntimeSpec) {
  const bareRoot = join(WORK, 'bare-runc');
  const bundle = join(WORK, 'bare-bundle');
  mkdirSync(bundle, { recursive: true });
  const cni = new CniNetwork({
    pluginDir: '/usr/lib/cni',
    bridge: BRIDGE,
    subnet: SUBNET,
    stateDir: join(WORK, 'bare-cni'),
    name: 'bare',
  });
  const bare = async (id: string, withNetwork: boolean) => {
    const t0 = performance.now();
    const ns = withNetwork ? (await cni.attach(id)).netns : null;
    const config = structuredClone(spec);
    config.linux.namespaces = config.linux.namespaces.map((n) =>
      n.type === 'network' ? (ns ? { type: 'network', path: ns } : { type: 'network' }) : n,
    );
    config.linux.cgroupsPath = `${CGROUP}-bare/${id}`;
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    // stdio to /dev/null: runc hands its stdio to the container (FIELD-NOTES), and a pipe
    // would keep this call waiting for the container to exit.
    const r = spawnSync('runc', ['--root', bareRoot, 'run', '-d', '--bundle', bundle, id], {
      stdio: 'ignore',
    });
    if (r.status !== 0) throw new Error(`runc run ${id} failed`);
    const t = performance.now() - t0;
    sh('runc', ['--root', bareRoot, 'kill', id, 'KILL']);
    for (let k = 0; k < 200; k++) {
      const st = JSON.parse(sh('runc', ['--root', bareRoot, 'state', id])) as { status: string };
      if (st.status === 'stopped') break;
      await new Promise((r) => setTimeout(r, 5));
    }
    sh('runc', ['--root', bareRoot, 'delete', id]);
    if (withNetwork) await cni.detach(id);
    return t;
  };
  const bareRunc: number[] = [];
  const bareCni: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bareRunc.push(await bare(`bare-${i}`, false));
    bareCni.push(await bare(`barenet-${i}`, true));
  }
  return { bareRunc, bareCni };
}

/** CONCURRENT instances at once: until all run, until all are healthy, memory, and stop. */
async function manyAtOnce(agent: Agent, artifact: Digest) {
  const many = Array.from({ length: CONCURRENT }, (_, i) => ({
    id: `many-${i}`,
    fleet: 'bench',
    artifact,
  }));
  const c0 = performance.now();
  await agent.apply([{ id: 'warm', fleet: 'bench', artifact }, ...many]);
  const manyRunning = performance.now() - c0;
  await waitState(
    agent,
    many.map((m) => m.id),
    'healthy',
    60_000,
  );
  const manyHealthy = performance.now() - c0;
  const memory = many.reduce((n, m) => n + cgroupBytes(m.id), 0) / many.length;
  const s0 = performance.now();
  await agent.apply([]);
  const manyStop = performance.now() - s0;
  return { manyRunning, manyHealthy, memory, manyStop };
}

/** The table and the goals, on stdout. */
function report(
  { ingotStart, healthWait }: Awaited<ReturnType<typeof ingotStarts>>,
  { bareRunc, bareCni }: Awaited<ReturnType<typeof bareStarts>>,
  { manyRunning, manyHealthy, memory, manyStop }: Awaited<ReturnType<typeof manyAtOnce>>,
): void {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const m = {
    ingot: median(ingotStart),
    runc: median(bareRunc),
    cni: median(bareCni),
    health: median(healthWait),
  };
  console.log(`# bench/start — medians of ${RUNS} runs; hello image, rootfs cached\n`);
  console.log('| run | time | ratio |\n| --- | ---: | ---: |');
  console.log(`| bare \`runc run -d\` of the same bundle (no network) | ${ms(m.runc)} | 1.00× |`);
  console.log(
    `| bare: CNI bridge + loopback, then \`runc run -d\` | ${ms(m.cni)} | ${(m.cni / m.runc).toFixed(2)}× |`,
  );
  console.log(
    `| **ingot: apply → running** (admission with every blob re-hashed, network, config, runc) | **${ms(m.ingot)}** | ${(m.ingot / m.runc).toFixed(2)}× bare runc, ${(m.ingot / m.cni).toFixed(2)}× runc+CNI |`,
  );
  console.log(`| health wait after running (start grace, first probe) | ${ms(m.health)} | |`);
  console.log(`| **${CONCURRENT} instances at once → all running** | **${ms(manyRunning)}** | |`);
  console.log(`| ${CONCURRENT} instances → all healthy | ${ms(manyHealthy)} | |`);
  console.log(`| memory per instance (cgroup usage) | ${(memory / 1024).toFixed(0)} KiB | |`);
  console.log(`| ${CONCURRENT} instances stopped and removed | ${ms(manyStop)} | |`);
  console.log(
    `\ngoals: start overhead ≤ 1.5× bare runc: ${m.ingot <= 1.5 * m.runc ? 'met' : 'NOT met'} (${(m.ingot / m.runc).toFixed(2)}×; ${(m.ingot / m.cni).toFixed(2)}× with the same networking); ${CONCURRENT} concurrent in < 3 s: ${manyRunning < 3000 ? 'met' : 'NOT met'}`,
  );
}

/** Every instance stopped, the agent closed, the bridge, IPAM state, cgroups and bundle gone. */
async function cleanUp(agent: Agent): Promise<void> {
  await agent.apply([]).catch(() => undefined);
  await agent.close();
  spawnSync('ip', ['link', 'delete', BRIDGE]);
  for (const name of [`ingot-${BRIDGE}`, 'bare'])
    rmSync(join('/run/ingot/ipam', name), { recursive: true, force: true });
  rmSync(`/run/ingot/cni-${BRIDGE}.lock`, { force: true });
  spawnSync('sh', [
    '-c',
    `rmdir /sys/fs/cgroup/*/${CGROUP.slice(1)} /sys/fs/cgroup/*/${CGROUP.slice(1)}-bare 2>/dev/null || true`,
  ]);
  if (existsSync(WORK)) rmSync(join(WORK, 'bare-bundle'), { recursive: true, force: true });
}

async function main() {
  const artifact = prepare();
  const agent = await createAgent({
    home: HOME,
    keyFiles: [join(WORK, 'bench.pub')],
    bridge: BRIDGE,
    subnet: SUBNET,
    cgroupParent: CGROUP,
    stopGraceMs: 200,
  });
  agent.run(20);
  try {
    const spec = await warmUp(agent, artifact);
    const ingot = await ingotStarts(agent, artifact);
    const bare = await bareStarts(spec);
    const many = await manyAtOnce(agent, artifact);
    report(ingot, bare, many);
  } finally {
    await cleanUp(agent);
  }
}

await main();
