import type { Digest } from '../domain/digest.js';
import type { ControllerMemory } from '../core/controller/memory.js';
import type {
  FleetNote,
  FleetRecord,
  FleetState,
  HistoryEntry,
  NumberedRelease,
  ReleaseRecord,
} from '../core/fleet/record.js';
import type { HistoryPageQuery } from '../core/fleet/history-page.js';
import type { ReleasePageQuery } from '../core/fleet/release-page.js';

/**
 * The control plane's durable state: fleets, their releases, their history, and what the
 * controller remembers between passes. The store decides nothing: the rules that change a
 * fleet are in `core/fleet/transitions.ts`, and a write lands only if the record is still
 * the version it was decided on. Every write is one transaction with its history line and
 * ledger entry, so a crash leaves either the old state or the new one.
 */
export interface FleetStore {
  fleets(): Promise<FleetRecord[]>;
  fleet(name: string): Promise<FleetRecord | null>;
  release(digest: Digest): Promise<NumberedRelease | null>;
  /**
   * The fleet's releases numbered below `page.before` (all: null), newest first, at most
   * `page.limit` of them. Reads only those: a fleet's releases are never pruned.
   */
  releases(fleet: string, page: ReleasePageQuery): Promise<NumberedRelease[]>;
  /**
   * History lines with a seq below `page.before` (all: null), of `page.fleet` (absent: every
   * fleet), naming `page.subject` when given, newest first, at most `page.limit` of them. Reads
   * only those: the history is never pruned.
   */
  history(page: HistoryPageQuery): Promise<HistoryEntry[]>;
  /**
   * Write a fleet's next state, recorded by `note`: only if the fleet is still at
   * `expected` (its version), or does not exist yet when `expected` is null. With
   * `release`, that release is recorded too (idempotent). Returns the record written, or
   * null (and nothing written) if the fleet moved on.
   */
  writeFleet(
    next: FleetState,
    expected: number | null,
    note: FleetNote,
    release?: ReleaseRecord,
  ): Promise<FleetRecord | null>;
  /** Record a decision that changes no fleet (a taint, the meltdown guard), with its entry. */
  note(note: FleetNote): Promise<void>;
  /** What the controller remembers of every fleet (failures seen, events recorded). */
  memories(): Promise<Map<string, ControllerMemory>>;
  /** Replace what the controller remembers of a fleet, with the notes that go with it. */
  remember(fleet: string, memory: ControllerMemory, notes: readonly FleetNote[]): Promise<void>;
}
