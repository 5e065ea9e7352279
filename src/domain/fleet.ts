/**
 * A fleet's desired state as the planner reads it: one target release, how many instances,
 * and how fast the fleet may change. Percentages of the fleet spec are resolved to counts
 * before planning.
 */
export interface FleetTarget {
  readonly fleet: string;
  /** The release every instance should run (digest of artifact + fleet config). */
  readonly release: string;
  /** Whether admission allows the release's artifact: a refused one is never started. */
  readonly admitted: boolean;
  readonly replicas: number;
  /** Instances above `replicas` allowed while replacing. */
  readonly maxSurge: number;
  /** Ready instances below `replicas` allowed while replacing. */
  readonly maxUnavailable: number;
  /** An instance counts as ready after it has been healthy this long. */
  readonly minReadyMs: number;
  /** Instances older than this are replaced (repaving); null: never. */
  readonly maxInstanceAgeMs: number | null;
}

/** What the planner needs to know of an instance. */
export interface PlannedInstanceView {
  readonly id: string;
  readonly release: string;
  readonly state:
    'pending' | 'starting' | 'healthy' | 'unhealthy' | 'stopped' | 'refused' | 'failed';
  readonly startedAt: number | null;
  /** Since when it has been healthy without interruption, or null. */
  readonly healthySince: number | null;
  /** Drift or break-glass: it must be replaced. */
  readonly tainted: boolean;
}

export type StopReason = 'gone' | 'tainted' | 'unhealthy' | 'old-release' | 'aged' | 'surplus';

export interface Plan {
  readonly start: readonly { readonly id: string; readonly release: string }[];
  readonly stop: readonly { readonly id: string; readonly reason: StopReason }[];
  readonly keep: readonly string[];
  /** Why the plan is not complete yet (budget exhausted, release refused, ...). */
  readonly reasons: readonly string[];
}
