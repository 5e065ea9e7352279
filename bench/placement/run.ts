import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  place,
  rulesOf,
  type Placement,
  type PlacementHost,
  type PlacementInput,
  type PlacementInstance,
} from '../../src/core/placement/index.js';

/**
 * bench/placement: core/placement deciding where 10,000 instances of 50 fleets run on 200
 * hosts in 4 zones (issue 18), against the goal (1,000 instances/s on these 2 cores)
 * and, for context, Nomad's C1M (1,000,000 containers on 5,000 hosts in under 5 minutes,
 * about 3,750 placements/s by 5 servers). The function is pure and runs on one core; the
 * hosts and instances are generated, nothing is started.
 *
 * Cases: (a) cold: every instance new, every host empty; (b) a pass with nothing changed:
 * the result of (a) as the current assignments, so everything is kept (what the controller
 * runs every pass); (c) 10 hosts lost: their ~500 instances re-placed, the rest kept.
 */

const HOSTS = Number(process.env['BENCH_HOSTS'] ?? 200);
const FLEETS = Number(process.env['BENCH_FLEETS'] ?? 50);
const PER_FLEET = Number(process.env['BENCH_PER_FLEET'] ?? 200);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 15);
const GOAL = 1000;
const C1M = 3750;
const MIB = 2 ** 20;
const GIB = 2 ** 30;

function hosts(): PlacementHost[] {
  return Array.from({ length: HOSTS }, (_, n) => ({
    name: `host-${String(n).padStart(3, '0')}`,
    labels: {
      zone: `z${n % 4}`,
      rack: `r${Math.floor(n / 4) % 10}`,
      ...(n % 2 === 0 ? { disk: 'ssd' } : { disk: 'hdd' }),
    },
    state: 'ready' as const,
    capacity: {
      addresses: 253,
      maxInstances: 250,
      memoryBytes: 64 * GIB,
      cpus: 16,
      pids: 4_194_304,
    },
  }));
}

/**
 * 50 fleets of 200: sizes from 128 MiB / 0.1 CPU to 1 GiB / 1 CPU (about 40 % of the
 * hosts' memory in all); every other fleet spreads over zones, one in five needs disk=ssd
 * (half the hosts), one in seven avoids rack r3.
 */
function instances(): PlacementInstance[] {
  const sizes = [
    { memoryBytes: 128 * MIB, cpus: 0.1, pids: 64 },
    { memoryBytes: 256 * MIB, cpus: 0.25, pids: 128 },
    { memoryBytes: 512 * MIB, cpus: 0.5, pids: 256 },
    { memoryBytes: 1 * GIB, cpus: 1 },
  ];
  return Array.from({ length: FLEETS }, (_, f) => {
    const fleet = `fleet-${String(f).padStart(2, '0')}`;
    const rules = rulesOf({
      ...(f % 2 === 0 && { spread: 'zone' }),
      constraints: [...(f % 5 === 0 ? ['disk=ssd'] : []), ...(f % 7 === 0 ? ['rack!=r3'] : [])],
    });
    const resources = sizes[f % sizes.length]!;
    return Array.from({ length: PER_FLEET }, (_, n) => ({
      id: `${fleet}-${n}`,
      fleet,
      resources,
      rules,
    }));
  }).flat();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The median time of `RUNS` placements after two warm-up runs, and the last result. */
function timed(input: PlacementInput): { ms: number; result: Placement } {
  let result = place(input);
  place(input);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    result = place(input);
    times.push(performance.now() - t);
  }
  return { ms: median(times), result };
}

function row(what: string, placed: number, ms: number): string {
  const rate = (placed / ms) * 1000;
  const cell = (text: string, width: number) => text.padStart(width);
  const ratio = (r: number) => (placed === 0 ? '—' : `${(rate / r).toFixed(1)}×`);
  return [
    '',
    ` ${what.padEnd(46)} `,
    ` ${cell(String(placed), 6)} `,
    ` ${cell(ms.toFixed(1), 7)} `,
    ` ${cell(placed === 0 ? '—' : Math.round(rate).toLocaleString('en'), 11)} `,
    ` ${cell(ratio(GOAL), 7)} `,
    ` ${cell(ratio(C1M), 6)} `,
    '',
  ].join('|');
}

function check(result: Placement, what: string): void {
  if (result.unplaceable.length > 0)
    throw new Error(
      `${what}: ${result.unplaceable.length} unplaceable: ${result.unplaceable[0]!.message}`,
    );
}

function main(): void {
  const hs = hosts();
  const is = instances();
  const cold = timed({ hosts: hs, instances: is, current: {} });
  check(cold.result, 'cold');
  const again = timed({ hosts: hs, instances: is, current: cold.result.assignments });
  if (again.result.moves.length > 0) throw new Error('a pass with nothing changed moved instances');
  const lost = new Set(hs.filter((_, n) => n % 20 === 7).map((h) => h.name));
  const loss = timed({
    hosts: hs.map((h) => (lost.has(h.name) ? { ...h, state: 'lost' as const } : h)),
    instances: is,
    current: cold.result.assignments,
  });
  check(loss.result, 'host loss');
  const moved = loss.result.moves.length;
  const perHost = Object.values(cold.result.assignments).reduce(
    (m, h) => m.set(h, (m.get(h) ?? 0) + 1),
    new Map<string, number>(),
  );

  console.log(
    `placement: ${is.length.toLocaleString('en')} instances of ${FLEETS} fleets on ${HOSTS} hosts in 4 zones; median of ${RUNS} runs`,
  );
  console.log(`${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, one thread\n`);
  console.log(
    '| case                                           | placed |      ms | instances/s |  ÷ goal |  ÷ C1M |',
  );
  console.log(
    '| ---------------------------------------------- | -----: | ------: | ----------: | ------: | -----: |',
  );
  console.log(row('(a) cold: all new, hosts empty', is.length, cold.ms));
  console.log(row('(b) nothing changed: all kept (one pass)', 0, again.ms));
  console.log(row(`(c) ${lost.size} hosts lost: their instances re-placed`, moved, loss.ms));
  console.log(
    `\ngoal ≥ ${GOAL.toLocaleString('en')} instances/s: ${(is.length / cold.ms) * 1000 >= GOAL ? 'met' : 'NOT met'}; Nomad C1M for context: ${C1M.toLocaleString('en')}/s on 5 servers`,
  );
  console.log(
    `instances per host after (a): ${Math.min(...perHost.values())}–${Math.max(...perHost.values())}; (c) moved ${moved}, kept ${is.length - moved}`,
  );
}

main();
