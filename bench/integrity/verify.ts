import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as VerifierModule from '../../src/adapters/integrity/verify-tree.js';
import type * as ScanModule from '../../src/adapters/rootfs/scan.js';
import type * as DiffModule from '../../src/core/integrity/diff.js';
import type { Drift } from '../../src/core/integrity/diff.js';
import type { MeasuredEntry } from '../../src/domain/measurement.js';
import { content, ensureTree, plan } from '../build/generate.js';

/**
 * bench/integrity: a full verification of a materialised rootfs against its measurement
 * (every path; type, mode, owner, size, link target, SHA-256 of every file) on the 300 MB,
 * 20,000-file tree of bench/build, next to AIDE doing the same check and to plain hashing
 * of the same files. Every figure is the median of BENCH_RUNS runs (default 5), the cases
 * interleaved round by round, all on the same warm page cache.
 *
 * Ingot runs in its production form: the verifier compiled with the build's settings
 * (as `npm run build` would put it in dist/), loaded with plain Node, never through tsx.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, 'bench', '.work', 'integrity');
const TREE = join(ROOT, 'bench', '.work', 'build', 'ctx', 'tree');
const DIST = join(WORK, 'dist');
const AIDE = join(WORK, 'aide');
const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 5));
const GOAL = 8;

function sh(script: string, okCodes: readonly number[] = [0]): string {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', script], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (!okCodes.includes(r.status ?? -1))
    throw new Error(`failed (${r.status}): ${script}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function need(tool: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
    throw new Error(`${tool} is not installed: run ./scripts/setup (or apt-get install ${tool})`);
}

/** The verifier and what it uses, compiled alone with tsconfig.build.json's settings. */
function compile(): void {
  mkdirSync(WORK, { recursive: true });
  const src = (p: string) => join(ROOT, 'src', p);
  writeFileSync(
    join(WORK, 'tsconfig.json'),
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: {
        rootDir: join(ROOT, 'src'),
        outDir: DIST,
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        sourceMap: false,
      },
      include: [],
      files: [
        src('adapters/integrity/verify-tree.ts'),
        src('adapters/integrity/hash-worker.ts'),
        src('adapters/rootfs/scan.ts'),
      ],
    }),
  );
  writeFileSync(join(WORK, 'package.json'), '{"type":"module"}\n');
  rmSync(DIST, { recursive: true, force: true });
  sh(`node ${join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')} -p ${WORK}`);
}

/** AIDE's path rules are regular expressions matched as prefixes: escape and anchor. */
function aideRule(path: string): string {
  return `${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/|$)`;
}

/**
 * What Ingot compares, in AIDE's terms: file type, permissions (with the set-id and sticky
 * bits), owner, group, size, link target and SHA-256; added and removed paths are always
 * reported. No inode, link count, times, ACLs or xattrs, which Ingot does not check either.
 * As many hashing threads as Ingot uses.
 */
function aideConfig(workers: number): string {
  return [
    `database_in=file:${join(AIDE, 'aide.db')}`,
    `database_out=file:${join(AIDE, 'aide.db.new')}`,
    'gzip_dbout=no',
    `num_workers=${workers}`,
    'report_url=stdout',
    'Ingot = ftype+p+u+g+s+l+sha256',
    `${aideRule(TREE)} Ingot`,
    '',
  ].join('\n');
}

interface Case {
  readonly label: string;
  readonly run: () => unknown;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const TICK = 1 / Number(sh('getconf CLK_TCK').trim());

/**
 * CPU seconds (user + system) used so far by this process (all its threads) and by the
 * children it has waited for (/proc/self/stat: cutime, cstime). Unlike wall time, it
 * hardly moves when other work shares the machine.
 */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (own.user + own.system) / 1e6 + (Number(fields[13]) + Number(fields[14])) * TICK;
}

interface Timing {
  readonly seconds: number;
  readonly cpu: number;
  readonly runs: readonly number[];
}

/** Each case once per round, RUNS rounds, after one untimed run of each. */
async function measureAll(cases: readonly Case[]): Promise<Timing[]> {
  const runs = cases.map(() => [] as number[]);
  const cpu = cases.map(() => [] as number[]);
  for (const c of cases) await c.run();
  for (let round = 0; round < RUNS; round++) {
    for (const [i, c] of cases.entries()) {
      sh('sync');
      const c0 = cpuSeconds();
      const t = performance.now();
      await c.run();
      runs[i]!.push((performance.now() - t) / 1000);
      cpu[i]!.push(cpuSeconds() - c0);
    }
    process.stderr.write(`  round ${round + 1}/${RUNS} done\n`);
  }
  return runs.map((r, i) => ({ seconds: median(r), cpu: median(cpu[i]!), runs: r }));
}

function expectNoDrift(label: string, drift: readonly Drift[]): void {
  if (drift.length > 0)
    throw new Error(`${label} found drift in the untouched tree: ${JSON.stringify(drift[0])}`);
}

/** Ingot's verifier and what it uses, compiled as the build compiles them, loaded by plain Node. */
async function loadIngot() {
  compile();
  const load = <T>(p: string) => import(pathToFileURL(join(DIST, p)).href) as Promise<T>;
  const { createVerifier, verifyTree } = await load<typeof VerifierModule>(
    'adapters/integrity/verify-tree.js',
  );
  const { scanTree } = await load<typeof ScanModule>('adapters/rootfs/scan.js');
  const { diffTree } = await load<typeof DiffModule>('core/integrity/diff.js');
  return { createVerifier, verifyTree, scanTree, diffTree };
}

type Ingot = Awaited<ReturnType<typeof loadIngot>>;

/** The tree's measurement, and the command that checks the tree against it from a file. */
function measureTree(scanTree: Ingot['scanTree']): {
  measurement: MeasuredEntry[];
  ingotCommand: string;
} {
  const measurement: MeasuredEntry[] = [...scanTree(TREE)].map(([path, o]) => {
    if (o.type === 'other') throw new Error(`${path}: a special file in the benchmark tree`);
    return { path, ...o, type: o.type };
  });
  const measurementFile = join(WORK, 'measurement.json');
  writeFileSync(measurementFile, JSON.stringify(measurement));
  // The whole command, as a host would run a one-off check: start-up, loading, the
  // measurement, workers, the check.
  const script = join(WORK, 'check.js');
  writeFileSync(
    script,
    [
      `import { readFileSync } from 'node:fs';`,
      `import { verifyTree } from ${JSON.stringify(pathToFileURL(join(DIST, 'adapters/integrity/verify-tree.js')).href)};`,
      `const drift = await verifyTree(process.argv[3], JSON.parse(readFileSync(process.argv[2], 'utf8')));`,
      `console.log(drift.length);`,
      '',
    ].join('\n'),
  );
  const ingotCommand = `node ${script} ${measurementFile} ${TREE}`;
  return { measurement, ingotCommand };
}

/** AIDE's configuration, and its database made by an untimed `aide --init`. */
function prepareAide(workers: number): {
  conf: string;
  aideCheck: string;
  aideInitSeconds: number;
} {
  rmSync(AIDE, { recursive: true, force: true });
  mkdirSync(AIDE, { recursive: true });
  const conf = join(AIDE, 'aide.conf');
  writeFileSync(conf, aideConfig(workers));
  const aideInit = performance.now();
  sh(`aide --init -c ${conf} > /dev/null`);
  const aideInitSeconds = (performance.now() - aideInit) / 1000;
  sh(`mv ${join(AIDE, 'aide.db.new')} ${join(AIDE, 'aide.db')}`);
  const aideCheck = `aide --check -c ${conf} > /dev/null`;
  return { conf, aideCheck, aideInitSeconds };
}

/** What every phase after the preparation works with. */
interface Setup {
  readonly ingot: Ingot;
  readonly workers: number;
  readonly bytes: number;
  readonly measurement: MeasuredEntry[];
  readonly ingotCommand: string;
  readonly aide: ReturnType<typeof prepareAide>;
}

/** The tools checked; the tree, Ingot, the measurement and AIDE's database ready; cache warm. */
async function prepare(): Promise<Setup> {
  for (const t of ['aide', 'sha256sum', 'openssl', 'tar', 'find', 'xargs']) need(t);
  const { files, bytes } = ensureTree(TREE);
  const ingot = await loadIngot();

  const workers = availableParallelism();
  const { measurement, ingotCommand } = measureTree(ingot.scanTree);
  const aide = prepareAide(workers);

  process.stderr.write(
    `bench/integrity: ${files} files, ${(bytes / 1e6).toFixed(0)} MB, ${measurement.length} paths; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); node ${process.version}; ${RUNS} runs each; warm page cache\n`,
  );
  sh(`tar -c -C ${TREE} . > /dev/null`); // warm the page cache for everyone alike
  return { ingot, workers, bytes, measurement, ingotCommand, aide };
}

/** The limits, the peers and Ingot's forms, in the order of the table. */
function cases(setup: Setup, verifier: VerifierModule.Verifier): Case[] {
  const { workers, measurement, ingotCommand } = setup;
  const { diffTree, scanTree, verifyTree } = setup.ingot;
  const { aideCheck } = setup.aide;
  const list = `find ${TREE} -type f -print0`;
  return [
    {
      label: 'limit: `tar -c | openssl dgst -sha256` (one stream)',
      run: () => sh(`tar -c -C ${TREE} . | openssl dgst -sha256 > /dev/null`),
    },
    {
      label: `limit: \`openssl dgst -sha256\` per file, ${workers} processes`,
      run: () => sh(`${list} | xargs -0 -P ${workers} -n 2500 openssl dgst -sha256 > /dev/null`),
    },
    {
      label: '(c) `sha256sum` per file',
      run: () => sh(`${list} | xargs -0 sha256sum > /dev/null`),
    },
    {
      label: `(c) \`sha256sum\` per file, ${workers} processes`,
      run: () => sh(`${list} | xargs -0 -P ${workers} -n 2500 sha256sum > /dev/null`),
    },
    { label: `(d) peer: \`aide --check\`, ${workers} workers`, run: () => sh(aideCheck) },
    {
      label: '(b) sequential: scanTree + diffTree, in-process',
      run: () => expectNoDrift('sequential', diffTree(measurement, scanTree(TREE))),
    },
    {
      label: `**(a) ingot verifier, ${workers} workers, in-process, pool reused**`,
      run: async () => expectNoDrift('ingot', await verifier.verify(TREE, measurement)),
    },
    {
      label: `**(a) ingot verifyTree, in-process, pool started and ended**`,
      run: async () => expectNoDrift('ingot', await verifyTree(TREE, measurement, { workers })),
    },
    {
      label: '**(a) ingot, whole command: `node check.js` (compiled)**',
      run: () => {
        if (sh(ingotCommand).trim() !== '0') throw new Error('the compiled check found drift');
      },
    },
  ];
}

/** What Ingot and AIDE each report of two planted changes; the tree restored after. */
async function findTampering(
  setup: Setup,
  verifier: VerifierModule.Verifier,
): Promise<{ ingot: string[]; aide: string[] }> {
  const { measurement } = setup;
  const { conf } = setup.aide;
  // Both must see the same tampering: one file's content (same size) and another's mode.
  const [first, second] = plan();
  const tampered = [join(TREE, first!.path), join(TREE, second!.path)];
  const mode = statSync(tampered[1]!).mode & 0o7777;
  let seen: { ingot: string[]; aide: string[] };
  try {
    const changed = Buffer.from(content(first!));
    changed[0] = changed[0]! ^ 1;
    writeFileSync(tampered[0]!, changed);
    chmodSync(tampered[1]!, 0o4755);
    const drift = await verifier.verify(TREE, measurement);
    const report = sh(`aide --check -c ${conf}`, [1, 2, 3, 4, 5, 6, 7]);
    seen = {
      ingot: drift.map((d) => `${d.path} ${d.kind === 'changed' ? d.field : d.kind}`),
      aide: tampered.filter((p) => report.includes(p)).map((p) => p.slice(TREE.length)),
    };
  } finally {
    writeFileSync(tampered[0]!, content(first!));
    chmodSync(tampered[1]!, mode);
  }
  return seen;
}

/** The table, the runs and the goal, on stdout and in last-run.md. */
function report(
  setup: Setup,
  cases: readonly Case[],
  timings: readonly Timing[],
  seen: { ingot: string[]; aide: string[] },
): void {
  const { bytes } = setup;
  const { aideInitSeconds } = setup.aide;
  const at = (prefix: string) => timings[cases.findIndex((c) => c.label.startsWith(prefix))]!;
  const aide = at('(d)');
  const sha256sum = at('(c) `sha256sum` per file').seconds;
  const limit = at('limit: `tar').seconds;
  const x = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)}×`;
  const lines = [
    '',
    '| run | seconds | CPU s | MB/s | AIDE ÷ this | this ÷ sha256sum | this ÷ limit | AIDE CPU ÷ this CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...cases.map((c, i) => {
      const { seconds: s, cpu } = timings[i]!;
      return `| ${c.label} | ${s.toFixed(3)} | ${cpu.toFixed(2)} | ${(bytes / 1e6 / s).toFixed(0)} | ${x(aide.seconds / s)} | ${x(s / sha256sum)} | ${x(s / limit)} | ${x(aide.cpu / cpu)} |`;
    }),
    '',
    'runs (wall s):',
    ...cases.map((c, i) => `  ${c.label}: ${timings[i]!.runs.map((t) => t.toFixed(3)).join(', ')}`),
    '',
    `aide --init (untimed setup, one run): ${aideInitSeconds.toFixed(2)} s`,
    `tampering found (one file's content, another's mode): ingot [${seen.ingot.join(', ')}]; aide [${seen.aide.join(', ')}]`,
    '',
    `goal: ingot ≥ ${GOAL}× faster than AIDE (median wall time)`,
    ...(
      [
        ['in-process, pool reused', at('**(a) ingot verifier')],
        ['in-process, one-shot', at('**(a) ingot verifyTree')],
        ['whole command', at('**(a) ingot, whole')],
      ] as const
    ).map(
      ([label, t]) =>
        `  ${label.padEnd(24)} ${x(aide.seconds / t.seconds)} ${aide.seconds / t.seconds >= GOAL ? 'met' : 'NOT met'} (CPU: ${x(aide.cpu / t.cpu)})`,
    ),
  ];
  console.log(lines.join('\n'));
  writeFileSync(join(WORK, 'last-run.md'), lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const setup = await prepare();
  const verifier = setup.ingot.createVerifier({ workers: setup.workers });
  const all = cases(setup, verifier);
  const timings = await measureAll(all);
  const seen = await findTampering(setup, verifier);
  await verifier.close();
  const stillClean = await setup.ingot.verifyTree(TREE, setup.measurement);
  expectNoDrift('ingot after restoring the tree', stillClean);
  report(setup, all, timings, seen);
  if (seen.ingot.length !== 2 || seen.aide.length !== 2)
    throw new Error('ingot and AIDE did not both find the two changes');
}

await main();
