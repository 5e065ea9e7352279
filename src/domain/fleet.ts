/**
 * The longest grace a stop may take (fleet.yaml's stopGrace, `ingot up --stop-grace`): a stop
 * that may take longer holds up its host.
 */
export const MAX_STOP_GRACE_MS = 600_000;

/**
 * A fleet's desired state as the planner reads it: which releases should run and how many
 * of each, and how fast the fleet may change. Percentages of the fleet spec are resolved to counts
 * before planning.
 */
export interface FleetTarget {
  readonly fleet: string;
  /**
   * What should run, the release being rolled out first: a rolling release is one entry of
   * `replicas`; a canary step or a blue-green preview splits the fleet between the new
   * release and the one it replaces. Instances of releases not listed are replaced.
   */
  readonly releases: readonly ReleaseShare[];
  /** The fleet's size: availability is counted against it. */
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

export interface ReleaseShare {
  /** A release digest (artifact + instance settings). */
  readonly release: string;
  readonly count: number;
  /** Whether admission allows the release's artifact: a refused one is never started. */
  readonly admitted: boolean;
  /** Why nothing of it is started now (its starts fail and wait, its rollout failed). */
  readonly held?: string;
}

/** What the planner needs to know of an instance. */
export interface PlannedInstanceView {
  readonly id: string;
  readonly release: string;
  /** "stopping": terminating; neither serving nor counted against the surge ceiling. */
  readonly state:
    | 'pending'
    | 'starting'
    | 'healthy'
    | 'unhealthy'
    | 'stopped'
    | 'refused'
    | 'failed'
    | 'stopping';
  readonly startedAt: number | null;
  /** Since when it has been healthy without interruption, or null. */
  readonly healthySince: number | null;
  /** Drift or break-glass: it must be replaced. */
  readonly tainted: boolean;
  /** An open break-glass session: it is replaced (a new one starts) but not stopped yet. */
  readonly held?: boolean;
}

export type StopReason = 'gone' | 'tainted' | 'unhealthy' | 'old-release' | 'aged' | 'surplus';

export interface Plan {
  readonly start: readonly { readonly id: string; readonly release: string }[];
  readonly stop: readonly { readonly id: string; readonly reason: StopReason }[];
  readonly keep: readonly string[];
  /** Why the plan is not complete yet (budget exhausted, release refused, ...). */
  readonly reasons: readonly string[];
}
