import type { DesiredInstance, InstanceState } from '../../domain/instance.js';

/** What a host's instances reserve of it: `ingot hosts`' USED. */
export interface HostUsage {
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly pids: number;
  /** Instances that hold resources now. */
  readonly instances: number;
}

/**
 * States in which an instance holds the host's resources: its process runs (or is being
 * started, or is taking its grace to stop). Pending ones wait for room; ended ones hold none.
 */
const HOLDING: ReadonlySet<InstanceState> = new Set([
  'starting',
  'healthy',
  'unhealthy',
  'stopping',
]);

/**
 * What the instances an agent knows reserve: each that holds resources at the limits its
 * desired instance declares, a process at least (as fleetDemand counts them). One the latest
 * desired set no longer names (being stopped) counts as one process. Reserved, not measured:
 * it is what admission weighs against the host's capacity. Pure.
 */
export function hostUsage(
  known: readonly { readonly id: string; readonly state: InstanceState }[],
  desired: readonly DesiredInstance[],
): HostUsage {
  const limits = new Map(desired.map((d) => [d.id, d.resources ?? {}]));
  let memoryBytes = 0;
  let cpus = 0;
  let pids = 0;
  let instances = 0;
  for (const i of known) {
    if (!HOLDING.has(i.state)) continue;
    const r = limits.get(i.id) ?? {};
    instances++;
    memoryBytes += r.memoryBytes ?? 0;
    cpus += r.cpus ?? 0;
    pids += r.pids ?? 1;
  }
  return { memoryBytes, cpus, pids, instances };
}
