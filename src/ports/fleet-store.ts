import type { LedgerEntryDraft } from '../core/ledger/index.js';
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
  /** The last release whose rollout completed: where an automatic rollback goes. */
  readonly stable: Digest | null;
  /** The rollout's step (canary steps, blue-green preview); 0 when a release is deployed. */
  readonly step: number;
  /** When the current step began: its progress deadline counts from here. */
  readonly stepStartedAt: number;
  /** When the current step's shape was first reached (its pause counts from here). */
  readonly stepReadyAt: number | null;
}

export interface StepUpdate {
  /** The step it moves from: if the rollout is elsewhere by now, nothing is written. */
  readonly from: number;
  readonly step: number;
  readonly stepStartedAt: number;
  readonly stepReadyAt: number | null;
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
  /** Record a release (idempotent) and point the fleet at it; `actor` did it (default admin). */
  deploy(release: ReleaseRecord, at: number, actor?: string): Promise<FleetRecord>;
  /** Judge `release`'s rollout; false (and nothing written) if the fleet moved on. */
  setRollout(
    name: string,
    release: Digest,
    rollout: RolloutState,
    reason: string | null,
    at: number,
  ): Promise<boolean>;
  /**
   * Move `release`'s rollout to another step, recording why; false (and nothing written) if
   * the fleet moved on or the rollout is no longer progressing.
   */
  setStep(
    name: string,
    release: Digest,
    update: StepUpdate,
    at: number,
    note: { kind: string; detail: string; actor?: string },
  ): Promise<boolean>;
  /**
   * Point the fleet at `to` (one of its releases), else its last completed release, else
   * the one before. With `from`, only if the fleet is still rolling that release out.
   */
  rollBack(
    name: string,
    reason: string,
    at: number,
    options?: { to?: Digest; from?: Digest; actor?: string },
  ): Promise<void>;
  history(fleet?: string): Promise<HistoryEntry[]>;
  /**
   * Record a decision in a fleet's history, and in the ledger (by default as the
   * controller's).
   */
  note(
    fleet: string,
    kind: string,
    detail: string,
    at: number,
    by?: {
      actor?: string;
      instance?: string;
      subjects?: readonly string[];
      detail?: Record<string, unknown>;
    },
  ): Promise<void>;
  /** Append events to the ledger that no other write records (instances, admission). */
  append(drafts: readonly LedgerEntryDraft[]): Promise<number[]>;
  close(): Promise<void>;
}
