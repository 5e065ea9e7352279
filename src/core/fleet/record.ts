import type { Digest } from '../../domain/digest.js';
import type { FleetSpec } from './spec.js';

/**
 * progressing → complete (it becomes the stable release), rolled-back (to the stable one),
 * refused (admission says no, nothing to go back to) or failed (it could not start, nothing
 * to go back to: nothing more of it starts until it is deployed again).
 */
export const ROLLOUT_STATES = [
  'progressing',
  'complete',
  'rolled-back',
  'refused',
  'failed',
] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** A fleet as the control plane keeps it: what it should run and where its rollout stands. */
export interface FleetRecord {
  readonly name: string;
  /** The fleet spec as deployed (fleet.yaml, validated). */
  readonly spec: FleetSpec;
  readonly release: Digest;
  readonly artifact: Digest;
  /** The release before this one, for rollback; null for a first deploy. */
  readonly previous: Digest | null;
  readonly rollout: RolloutState;
  readonly rolloutStartedAt: number;
  readonly reason: string | null;
  /** The last release whose rollout completed: where an automatic rollback goes. */
  readonly stable: Digest | null;
  /** The rollout's step (canary steps, blue-green preview); 0 when a release is deployed. */
  readonly step: number;
  /** When the current step began: its progress deadline counts from here. */
  readonly stepStartedAt: number;
  /** When the current step's shape was first reached (its pause counts from here). */
  readonly stepReadyAt: number | null;
  /**
   * When the rollout was paused by hand (`ingot pause`), or null: a paused rollout takes no
   * further step (nor completes) until `ingot resume`. Kept with the record, not in memory, so
   * a restarted controller stays paused. A new rollout (deploy, rollback) starts unpaused.
   */
  readonly pausedAt: number | null;
  /**
   * Bumped by every write. A write names the version it was decided on and is refused if the
   * record moved since, so a decision made on a stale read never lands (compare-and-swap).
   */
  readonly version: number;
}

/** A fleet record before the store gives it a version. */
export type FleetState = Omit<FleetRecord, 'version'>;

/** One (artifact, instance settings) pair a fleet ran or runs: what its instances are cast from. */
export interface ReleaseRecord {
  readonly digest: Digest;
  readonly fleet: string;
  readonly artifact: Digest;
  readonly spec: FleetSpec;
  readonly createdAt: number;
}

/**
 * A release as the store keeps it: numbered from 1 in the order the fleet's releases were
 * made (`ingot describe release FLEET@N`). The store gives the number when it records the
 * release, and it never changes: a page asked by number names the same releases tomorrow.
 */
export interface NumberedRelease extends ReleaseRecord {
  readonly number: number;
}

/** One line of a fleet's history. */
export interface HistoryEntry {
  readonly seq: number;
  readonly time: number;
  readonly fleet: string;
  readonly kind: string;
  readonly detail: string;
  /** Who did it: "admin", "controller", `server@NAME`; '' for lines older than the field. */
  readonly actor: string;
  /** Why, when the decision gave a reason. */
  readonly reason?: string;
}

/**
 * A decision written into a fleet's history, and into the ledger in the same transaction:
 * the action, its history line and its ledger entry commit together or not at all.
 */
export interface FleetNote {
  readonly fleet: string;
  readonly time: number;
  /** The history's kind ("rollback", "taint", "step"). */
  readonly kind: string;
  /** The history's line, for people; the ledger keeps it as `detail.summary`. */
  readonly summary: string;
  /** Who did it: "admin", "controller", a token's name. */
  readonly actor: string;
  /** The ledger's kind when it says more than the history's ("rollout-complete"). */
  readonly ledgerKind?: string;
  readonly instance?: string;
  /** Digests the decision is about. */
  readonly subjects?: readonly string[];
  /** Evidence for the ledger, beside the summary. */
  readonly detail?: Readonly<Record<string, unknown>>;
}
