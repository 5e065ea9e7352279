import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/**
 * bench/cli: how long the everyday commands take, beside what no Node command can beat —
 * `node -e 0`, the runtime's own start-up — in the same run, runs interleaved so that a busy
 * moment of the machine falls on every command alike. Against a real `ingot up` (its own
 * bridge and subnet) running a three-instance fleet of examples/hello. Goal (issue 20):
 * `ingot status` and `ingot --version` within 3× `node -e 0`.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const INGOT = join(ROOT, 'dist', 'bin', 'ingot.js');
const RUNS = Math.max(3, Number(process.env['BENCH_RUNS'] ?? 21));
const GOAL = 3;

function run(argv: readonly string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    cwd: ROOT,
  });
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${argv.join(' ')}\n${r.stderr}`);
  return r.stdout;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Case {
  readonly label: string;
  readonly argv: readonly string[];
  readonly measured?: boolean;
}

function main(): void {
  if (!existsSync(INGOT)) throw new Error(`${INGOT} is missing: run npm run build first`);
  const home = mkdtempSync(join(tmpdir(), 'ingot-bench-cli-'));
  const env = { INGOT_HOME: home };
  const ingot = (...args: string[]) => run([process.execPath, INGOT, ...args], env);
  try {
    ingot('up', '--detach', '--bridge', 'ingotbcli0', '--subnet', '10.75.0.0/24');
    ingot('build', '-q', 'examples/hello');
    ingot('deploy', '--wait', 'examples/hello/fleet.yaml');
    const cases: Case[] = [
      { label: '`node -e 0` (floor)', argv: [process.execPath, '-e', '0'] },
      {
        label: '**`ingot --version`**',
        argv: [process.execPath, INGOT, '--version'],
        measured: true,
      },
      {
        label: '**`ingot status`** (3 instances)',
        argv: [process.execPath, INGOT, 'status'],
        measured: true,
      },
      { label: '`ingot status -o json`', argv: [process.execPath, INGOT, 'status', '-o', 'json'] },
      {
        label: '`npx ingot --version` (npx overhead)',
        argv: ['npx', '--no-install', 'ingot', '--version'],
      },
    ];
    const times = cases.map(() => [] as number[]);
    for (const c of cases) run(c.argv, env); // warm-up: caches, and each must succeed
    for (let i = 0; i < RUNS; i++)
      cases.forEach((c, k) => {
        const t = performance.now();
        run(c.argv, env);
        times[k]!.push(performance.now() - t);
      });
    const floor = median(times[0]!);
    console.log(`${RUNS} runs each, interleaved; medians`);
    console.log('| command | ms | ratio |');
    console.log('| --- | ---: | ---: |');
    let met = true;
    cases.forEach((c, k) => {
      const ms = median(times[k]!);
      const ratio = k === 0 ? '' : `${(ms / floor).toFixed(2)}× node -e 0`;
      if (c.measured && ms / floor > GOAL) met = false;
      console.log(`| ${c.label} | ${ms.toFixed(1)} | ${ratio} |`);
    });
    console.log(
      `\ngoal: \`ingot status\` and \`ingot --version\` within ${GOAL}× \`node -e 0\` — ${met ? 'met' : 'NOT met'}`,
    );
  } finally {
    spawnSync(process.execPath, [INGOT, 'down', '--stop-instances'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    rmSync(home, { recursive: true, force: true });
  }
}

main();
