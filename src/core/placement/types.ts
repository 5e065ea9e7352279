import type { DesiredInstance } from '../../domain/instance.js';
import type { Demand, HostCapacity } from '../capacity/host-capacity.js';
import type { Constraint } from './constraint.js';

/**
 * ready: keeps its instances and takes new ones. draining: its operator is emptying it; its
 * instances are moved elsewhere and it takes none. lost: its lease expired; its instances
 * are gone and are placed again elsewhere.
 */
export const HOST_STATES = ['ready', 'draining', 'lost'] as const;
export type HostState = (typeof HOST_STATES)[number];

export interface PlacementHost {
  /** Unique among the hosts. Ties between equally good hosts go to the first by name. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** What it has; instances get `hostLimits` of it (a reserve kept, CPUs over-committed). */
  readonly capacity: HostCapacity;
  readonly state: HostState;
  /**
   * What runs there that this placement does not decide (instances still stopping, say):
   * counted as used before anything else.
   */
  readonly reserved?: Partial<Demand>;
}

/** Where a fleet's instances may go and how they spread (fleet.yaml `placement`, parsed). */
export interface PlacementRules {
  /** A label key: the fleet's instances spread evenly over the hosts' values of it. */
  readonly spread?: string;
  /** Every one must hold on a host for the instance to run there. */
  readonly constraints: readonly Constraint[];
}

export interface PlacementInstance {
  /** Unique among the instances. */
  readonly id: string;
  readonly fleet: string;
  /** Its limits; absent ones reserve nothing but one process (as `fleetDemand` counts). */
  readonly resources: NonNullable<DesiredInstance['resources']>;
  /** Its fleet's rules. Spread counts are per fleet; each instance's own rules apply to it. */
  readonly rules: PlacementRules;
}

export interface PlacementInput {
  readonly hosts: readonly PlacementHost[];
  /** Every instance that should run: those running now (kept or moved) and new ones. */
  readonly instances: readonly PlacementInstance[];
  /**
   * Where instances run now: instance id → host name. Entries for instances not listed are
   * ignored (stopping them is the planner's business, not placement's).
   */
  readonly current: Readonly<Record<string, string>>;
}

/**
 * Why an instance leaves its host. The only causes there are: an instance whose host is
 * ready, still meets its constraints and has room for it stays.
 */
export type MoveCause =
  /** Its host is not among the hosts any more. */
  | 'host-gone'
  | 'host-lost'
  | 'host-draining'
  /** Its host no longer meets one of its constraints (the labels or the fleet changed). */
  | 'constraint'
  /**
   * Its host no longer has room for all it runs (its capacity shrank): instances are kept
   * by id while they fit, the rest move.
   */
  | 'capacity';

export interface Move {
  readonly instance: string;
  readonly fleet: string;
  readonly from: string;
  /** Where it goes; null when it fits nowhere (then it is in `unplaceable` too). */
  readonly to: string | null;
  readonly cause: MoveCause;
  /** The cause in words: "host b is lost", "host b fails disk=ssd". */
  readonly detail: string;
}

/**
 * The checks a host can fail for an instance, in the order they are made: its state, the
 * instance's constraints (in the fleet's order), then room: memory, CPUs, pids, instance
 * slots. The most lasting cause comes first: a host that fails a constraint would not take
 * the instance even empty.
 */
export type HostCheck = 'state' | 'constraint' | 'memory' | 'cpus' | 'pids' | 'instances';

/** Hosts that failed one check, counted. */
export interface ReasonCount {
  readonly check: HostCheck;
  /**
   * What failed: the host state ("lost"), the constraint ("disk=ssd"), or what the instance
   * needs ("64Mi", "0.5 CPUs", "100 pids"; "" for instance slots).
   */
  readonly subject: string;
  readonly hosts: number;
  /** In words, agreeing with the count: "2 lack 64Mi memory", "1 fails disk=ssd". */
  readonly text: string;
}

export interface Unplaceable {
  readonly instance: string;
  readonly fleet: string;
  /**
   * Every host, each counted once under the first check it fails (HostCheck's order); the
   * most common reason first, ties in check order.
   */
  readonly reasons: readonly ReasonCount[];
  /** "3 hosts: 2 lack 64Mi memory, 1 fails disk=ssd". */
  readonly message: string;
}

/** Placement's decision, as data for the controller to apply. */
export interface Placement {
  /** Every instance that has a host: kept, moved and new, by id. */
  readonly assignments: Readonly<Record<string, string>>;
  /** Instances leaving the host they run on, with the cause, by instance id. */
  readonly moves: readonly Move[];
  /** Instances no host can take, with why, by instance id. */
  readonly unplaceable: readonly Unplaceable[];
}
