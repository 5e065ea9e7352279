import type { Kysely } from 'kysely';

/**
 * Every table of `$INGOT_HOME/state.db`. The fleet store and the ledger share one database so
 * that an action, its history line and its ledger entry commit in one transaction: there is no
 * window in which one exists without the others.
 */
export interface FleetTables {
  fleets: {
    name: string;
    spec: string;
    release: string;
    artifact: string;
    previous: string | null;
    rollout: string;
    rollout_started_at: number;
    reason: string | null;
    stable: string | null;
    step: number;
    step_started_at: number;
    step_ready_at: number | null;
    version: number;
    paused_at: number | null;
  };
  releases: {
    digest: string;
    fleet: string;
    artifact: string;
    spec: string;
    created_at: number;
    /** 1, 2, … in the order the fleet's releases were made (009); unique per fleet. */
    number: number;
  };
  history: {
    seq: number | undefined;
    time: number;
    fleet: string;
    kind: string;
    detail: string;
    /** Who did it (008): "admin", "controller", `server@NAME`; '' for lines written before. */
    actor: string;
    /** Why, when the decision gave a reason (a rollback's, a refusal's). */
    reason: string | null;
  };
  /** What each history line names (010): its note's digests and instance. */
  history_subjects: { fleet: string; subject: string; seq: number };
  /** What the controller remembers of each fleet between passes (JSON). */
  controller_memory: { fleet: string; memory: string };
}

/**
 * - ledger_entries: seq → the entry's canonical JSON, the exact bytes its leaf hashes;
 * - ledger_nodes: (level, idx) → the hash of every complete, aligned subtree (level 0 holds
 *   the leaves). They never change once complete, so any proof for any past size is a few
 *   primary-key reads;
 * - ledger_checkpoints: size → the signed checkpoint (C2SP note) for that size.
 */
export interface LedgerTables {
  ledger_entries: { seq: number; body: string };
  ledger_nodes: { level: number; idx: number; hash: Uint8Array };
  ledger_checkpoints: { size: number; note: string; time: number };
}

export type StateTables = FleetTables & LedgerTables;

/** A handle or a transaction on state.db. */
export type StateDb = Kysely<StateTables>;
