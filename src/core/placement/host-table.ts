import { hostLimits } from '../capacity/host-capacity.js';
import type { PlacementHost, PlacementInstance } from './types.js';

/** What one instance takes of a host, in whole units: bytes, thousandths of a CPU, pids. */
export interface Need {
  readonly memory: number;
  readonly millicpus: number;
  readonly pids: number;
}

/** The capacity dimensions, in the order reasons check them. */
export const DIMENSIONS = ['memory', 'cpus', 'pids', 'instances'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/**
 * A CPU limit in thousandths, rounded up: sums of whole numbers are exact, and rounding up
 * can only keep more room than the instances ask for, never less. (0.1 + 0.2 CPUs, added as
 * floats, is a hair over 0.3.)
 */
export function millicpus(cpus: number): number {
  return Math.ceil(Math.round(cpus * 1e6) / 1000);
}

export function needOf(instance: PlacementInstance): Need {
  const r = instance.resources;
  return {
    memory: r.memoryBytes ?? 0,
    millicpus: millicpus(r.cpus ?? 0),
    pids: r.pids ?? 1,
  };
}

/**
 * The hosts as one placement fills them: limits and use per host, in arrays indexed by the
 * host's rank by name. Mutable, and local to one call of `place`, which stays pure.
 */
/** A host's figure as placement counts it: anything but a positive number (NaN too) is 0. */
function amount(n: number | undefined): number {
  return n !== undefined && n > 0 ? n : 0;
}

export class HostTable {
  /** Sorted by name. */
  readonly hosts: readonly PlacementHost[];
  readonly ready: readonly boolean[];
  // One flat array per dimension (not an object per host): the scoring loop reads them for
  // every host and every instance placed.
  private readonly limMemory: Float64Array;
  private readonly limCpus: Float64Array;
  private readonly limPids: Float64Array;
  private readonly limInstances: Float64Array;
  private readonly useMemory: Float64Array;
  private readonly useCpus: Float64Array;
  private readonly usePids: Float64Array;
  private readonly useInstances: Float64Array;

  /** `hosts` sorted by name, names unique. */
  constructor(hosts: readonly PlacementHost[]) {
    this.hosts = hosts;
    this.ready = hosts.map((h) => h.state === 'ready');
    const limits = hosts.map((h) => hostLimits(h.capacity));
    this.limMemory = Float64Array.from(limits, (l) => amount(l.memoryBytes));
    // Rounded down: the host's CPUs are the bound, the instances' are rounded up.
    this.limCpus = Float64Array.from(limits, (l) =>
      Math.floor(Math.round(amount(l.cpus) * 1e6) / 1000),
    );
    this.limPids = Float64Array.from(limits, (l) => amount(l.pids));
    this.limInstances = Float64Array.from(limits, (l) => amount(l.instances));
    const r = hosts.map((h) => h.reserved ?? {});
    this.useMemory = Float64Array.from(r, (x) => amount(x.memoryBytes));
    this.useCpus = Float64Array.from(r, (x) => millicpus(amount(x.cpus)));
    this.usePids = Float64Array.from(r, (x) => amount(x.pids));
    this.useInstances = Float64Array.from(r, (x) => amount(x.instances));
  }

  /** The first dimension in which host `h` lacks room for `need`, or null if it fits. */
  lacking(h: number, need: Need): Dimension | null {
    if (this.useMemory[h]! + need.memory > this.limMemory[h]!) return 'memory';
    if (this.useCpus[h]! + need.millicpus > this.limCpus[h]!) return 'cpus';
    if (this.usePids[h]! + need.pids > this.limPids[h]!) return 'pids';
    if (this.useInstances[h]! + 1 > this.limInstances[h]!) return 'instances';
    return null;
  }

  add(h: number, need: Need): void {
    this.useMemory[h]! += need.memory;
    this.useCpus[h]! += need.millicpus;
    this.usePids[h]! += need.pids;
    this.useInstances[h]! += 1;
  }

  /**
   * How full host `h` would be with `need` added: the largest fraction used of any
   * dimension (its dominant share; lower is emptier), or -1 if it has no room for it. The
   * same comparisons as `lacking`.
   */
  shareIfFits(h: number, need: Need): number {
    const memory = this.useMemory[h]! + need.memory;
    const cpus = this.useCpus[h]! + need.millicpus;
    const pids = this.usePids[h]! + need.pids;
    const instances = this.useInstances[h]! + 1;
    const lm = this.limMemory[h]!;
    const lc = this.limCpus[h]!;
    const lp = this.limPids[h]!;
    const li = this.limInstances[h]!;
    if (!(memory <= lm && cpus <= lc && pids <= lp && instances <= li)) return -1;
    return Math.max(
      memory === 0 ? 0 : memory / lm,
      cpus === 0 ? 0 : cpus / lc,
      pids === 0 ? 0 : pids / lp,
      instances / li,
    );
  }
}
