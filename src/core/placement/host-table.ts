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
export class HostTable {
  /** Sorted by name. */
  readonly hosts: readonly PlacementHost[];
  readonly ready: readonly boolean[];
  private readonly limit: { memory: number[]; cpus: number[]; pids: number[]; instances: number[] };
  private readonly used: { memory: number[]; cpus: number[]; pids: number[]; instances: number[] };

  /** `hosts` sorted by name, names unique. */
  constructor(hosts: readonly PlacementHost[]) {
    this.hosts = hosts;
    this.ready = hosts.map((h) => h.state === 'ready');
    const limits = hosts.map((h) => hostLimits(h.capacity));
    this.limit = {
      memory: limits.map((l) => l.memoryBytes),
      // Rounded down: the host's CPUs are the bound, the instances' are rounded up.
      cpus: limits.map((l) => Math.floor(Math.round(l.cpus * 1e6) / 1000)),
      pids: limits.map((l) => l.pids),
      instances: limits.map((l) => l.instances),
    };
    const r = hosts.map((h) => h.reserved ?? {});
    this.used = {
      memory: r.map((x) => x.memoryBytes ?? 0),
      cpus: r.map((x) => millicpus(x.cpus ?? 0)),
      pids: r.map((x) => x.pids ?? 0),
      instances: r.map((x) => x.instances ?? 0),
    };
  }

  /** The first dimension in which host `h` lacks room for `need`, or null if it fits. */
  lacking(h: number, need: Need): Dimension | null {
    const { limit: l, used: u } = this;
    if (u.memory[h]! + need.memory > l.memory[h]!) return 'memory';
    if (u.cpus[h]! + need.millicpus > l.cpus[h]!) return 'cpus';
    if (u.pids[h]! + need.pids > l.pids[h]!) return 'pids';
    if (u.instances[h]! + 1 > l.instances[h]!) return 'instances';
    return null;
  }

  fits(h: number, need: Need): boolean {
    const { limit: l, used: u } = this;
    return (
      u.memory[h]! + need.memory <= l.memory[h]! &&
      u.cpus[h]! + need.millicpus <= l.cpus[h]! &&
      u.pids[h]! + need.pids <= l.pids[h]! &&
      u.instances[h]! + 1 <= l.instances[h]!
    );
  }

  add(h: number, need: Need): void {
    const u = this.used;
    u.memory[h]! += need.memory;
    u.cpus[h]! += need.millicpus;
    u.pids[h]! += need.pids;
    u.instances[h]! += 1;
  }

  /**
   * How full host `h` would be with `need` added: the largest fraction used of any
   * dimension (its dominant share). Lower is emptier.
   */
  shareAfter(h: number, need: Need): number {
    const { limit: l, used: u } = this;
    return Math.max(
      fraction(u.memory[h]! + need.memory, l.memory[h]!),
      fraction(u.cpus[h]! + need.millicpus, l.cpus[h]!),
      fraction(u.pids[h]! + need.pids, l.pids[h]!),
      fraction(u.instances[h]! + 1, l.instances[h]!),
    );
  }
}

function fraction(used: number, limit: number): number {
  return used === 0 ? 0 : used / limit;
}
