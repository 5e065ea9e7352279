import type { FleetSpec } from '../fleet/spec.js';
import { rolloutShape, stepCount } from '../planner/strategy.js';

/** What one host can take, as read from it and as its operator bounds it. */
export interface HostCapacity {
  /** Addresses the instances' subnet can hand out (see subnetAddresses). */
  readonly addresses: number;
  /** The operator's bound on instances on this host (agent/server option). */
  readonly maxInstances: number;
  readonly memoryBytes: number;
  readonly cpus: number;
  /** Processes the host can have at once (its pid limit). */
  readonly pids: number;
}

/** What a fleet (or several) may need of a host at once, at the peak of a rollout. */
export interface Demand {
  readonly instances: number;
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly pids: number;
}

export type CapacityDecision =
  | { readonly ok: true; readonly demand: Demand; readonly limits: Demand }
  | {
      readonly ok: false;
      readonly reasons: readonly string[];
      readonly demand: Demand;
      readonly limits: Demand;
    };

/** Memory kept for the host itself: the larger of 256 MiB and a tenth. */
const MEMORY_RESERVE = (total: number) => Math.max(256 * 1024 * 1024, Math.floor(total / 10));
/** Processes kept for the host itself (the agent, runc, CNI plugins, the rest). */
const PIDS_RESERVE = (total: number) => Math.max(1024, Math.floor(total / 10));
/**
 * A CPU limit is a quota: over-committed, instances are throttled, nothing fails. Memory is
 * not (the kernel kills), so memory limits must fit and CPU limits may add up to this many
 * times the cores.
 */
export const CPU_OVERCOMMIT = 4;

/**
 * Instances one host takes unless its operator says otherwise: as many as the default /24
 * gives addresses, well past what a small host runs comfortably, far below what took one down.
 */
export const DEFAULT_MAX_INSTANCES = 250;

const ZERO: Demand = { instances: 0, memoryBytes: 0, cpus: 0, pids: 0 };

/**
 * The most instances a fleet can run at once: its replicas plus the largest surge any step of
 * its strategy allows (rolling surge, canary steps, a blue-green preview beside the old
 * release), as the planner bounds live instances by `replicas + maxSurge`. A fleet of 0 starts
 * nothing. Pure.
 */
export function peakInstances(spec: FleetSpec): number {
  if (spec.replicas === 0) return 0;
  let surge = rolloutShape(spec, {
    release: 'new',
    base: null,
    progressing: false,
    step: 0,
  }).maxSurge;
  for (let step = 0; step <= stepCount(spec); step++)
    surge = Math.max(
      surge,
      rolloutShape(spec, { release: 'new', base: 'old', progressing: true, step }).maxSurge,
    );
  return spec.replicas + surge;
}

/**
 * What a fleet may need at its peak: every instance at its declared limits. An instance
 * without a memory or CPU limit reserves none (the address and instance bounds still hold);
 * each has at least one process. Pure.
 */
export function fleetDemand(spec: FleetSpec): Demand {
  const n = peakInstances(spec);
  const r = spec.resources;
  return {
    instances: n,
    memoryBytes: n * (r.memory ?? 0),
    cpus: n * (r.cpus ?? 0),
    pids: n * (r.pids ?? 1),
  };
}

/** What instances may use of the host, its own reserve kept aside. Pure. */
export function hostLimits(host: HostCapacity): Demand {
  return {
    instances: Math.max(0, Math.min(host.addresses, host.maxInstances)),
    memoryBytes: Math.max(0, host.memoryBytes - MEMORY_RESERVE(host.memoryBytes)),
    cpus: Math.max(0, host.cpus * CPU_OVERCOMMIT),
    pids: Math.max(0, host.pids - PIDS_RESERVE(host.pids)),
  };
}

function add(a: Demand, b: Demand): Demand {
  return {
    instances: a.instances + b.instances,
    memoryBytes: a.memoryBytes + b.memoryBytes,
    cpus: a.cpus + b.cpus,
    pids: a.pids + b.pids,
  };
}

/** Whether `a` asks for no more than `b` of anything. */
export function within(a: Demand, b: Demand): boolean {
  return (
    a.instances <= b.instances &&
    a.memoryBytes <= b.memoryBytes &&
    a.cpus <= b.cpus + 1e-9 &&
    a.pids <= b.pids
  );
}

const MIB = 1024 * 1024;

/**
 * Whether a host takes `incoming` (a fleet's new spec) beside every other fleet it runs, at
 * the peak of each one's rollout. `current` is the fleet's spec now, if it exists: a deploy
 * that asks for no more than it (replicas 0, any shrink) always gets through, however full
 * the host is: that is how an operator makes room. Pure.
 */
export function decideCapacity(
  host: HostCapacity,
  others: readonly FleetSpec[],
  incoming: FleetSpec,
  current: FleetSpec | null,
): CapacityDecision {
  const mine = fleetDemand(incoming);
  const rest = others.map(fleetDemand).reduce(add, ZERO);
  const demand = add(rest, mine);
  const limits = hostLimits(host);
  if (within(mine, current ? fleetDemand(current) : ZERO)) return { ok: true, demand, limits };
  const reasons: string[] = [];
  const over = (
    what: string,
    key: keyof Demand,
    show: (n: number) => string,
    why: string,
  ): void => {
    if (demand[key] <= limits[key] + (key === 'cpus' ? 1e-9 : 0)) return;
    reasons.push(
      `it needs up to ${show(mine[key])} ${what} at once beside ${show(rest[key])} of other fleets; this host takes at most ${show(limits[key])} (${why})`,
    );
  };
  over(
    'instances',
    'instances',
    String,
    `${host.addresses} addresses in its subnet, at most ${host.maxInstances} instances by its option; a rollout's surge counts`,
  );
  over(
    'of memory limits',
    'memoryBytes',
    (n) => `${Math.ceil(n / MIB)} MiB`,
    'its memory less a reserve for the host',
  );
  over(
    'CPUs of limits',
    'cpus',
    (n) => String(Math.round(n * 100) / 100),
    `${host.cpus} CPUs, over-committed ${CPU_OVERCOMMIT} times at most`,
  );
  over('processes', 'pids', String, 'its pid limit less a reserve for the host');
  return reasons.length === 0
    ? { ok: true, demand, limits }
    : { ok: false, reasons, demand, limits };
}

/**
 * Addresses host-local hands out in an IPv4 subnet: all but the network address, the
 * broadcast address and the bridge's own (the gateway). Anything else than "a.b.c.d/n" has
 * none. Pure.
 */
export function subnetAddresses(cidr: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255)) return 0;
  const prefix = Number(m[5]);
  if (prefix > 32) return 0;
  return Math.max(0, 2 ** (32 - prefix) - 3);
}
