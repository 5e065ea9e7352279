import type { Digest } from '../domain/digest.js';

export type RolloutState = 'progressing' | 'complete' | 'rolled-back' | 'refused';

export interface FleetRecord {
  readonly name: string;
  /** The fleet spec as deployed (fleet.yaml, validated), as JSON. */
  readonly spec: unknown;
  readonly release: Digest;
  readonly artifact: Digest;
  /** The release before this one, for rollback; null for a first deploy. */
  readonly previous: Digest | null;
  readonly rollout: RolloutState;
  readonly rolloutStartedAt: number;
  readonly reason: string | null;
}

export interface ReleaseRecord {
  readonly digest: Digest;
  readonly fleet: string;
  readonly artifact: Digest;
  readonly spec: unknown;
  readonly createdAt: number;
}

export interface HistoryEntry {
  readonly seq: number;
  readonly time: number;
  readonly fleet: string;
  readonly kind: string;
  readonly detail: string;
}

/**
 * The controller's durable state: fleets, their releases, and what happened. Every write
 * is one transaction, so a crash leaves either the old state or the new one.
 */
export interface FleetStore {
  fleets(): Promise<FleetRecord[]>;
  fleet(name: string): Promise<FleetRecord | null>;
  release(digest: Digest): Promise<ReleaseRecord | null>;
  /** Record a release (idempotent) and point the fleet at it. */
  deploy(release: ReleaseRecord, at: number): Promise<FleetRecord>;
  setRollout(name: string, rollout: RolloutState, reason: string | null, at: number): Promise<void>;
  /** Point the fleet back at its previous release, or at `to` (one of its releases). */
  rollBack(name: string, reason: string, at: number, to?: Digest): Promise<void>;
  history(fleet?: string): Promise<HistoryEntry[]>;
  close(): Promise<void>;
}
