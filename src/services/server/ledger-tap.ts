import { noteEntry } from '../../core/fleet/note-entry.js';
import type { FleetNote } from '../../core/fleet/record.js';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import type { FleetStore } from '../../ports/fleet-store.js';

/** Something that wants to know each event once it is in the ledger (metrics, the log). */
export type LedgerSink = (entry: LedgerEntryDraft) => void;

/**
 * Every event this server writes into the ledger, seen once it committed: the recorder's
 * batches (agents, admission, hosts) and the fleet store's notes (deploys, rollouts,
 * rollbacks, taints), which it writes in their own transactions. The server's metrics and
 * its log are derived from here, so they count and say exactly what the record holds, and
 * no use case carries a counter or a log line of its own. A sink that throws is reported
 * and skipped: watching the record must never stop the record.
 */
export class LedgerTap {
  private readonly sinks: LedgerSink[] = [];

  constructor(private readonly onError: (err: unknown) => void) {}

  add(sink: LedgerSink): void {
    this.sinks.push(sink);
  }

  /** Entries that were just appended. */
  seen(entries: readonly LedgerEntryDraft[]): void {
    for (const entry of entries)
      for (const sink of this.sinks)
        try {
          sink(entry);
        } catch (err) {
          this.onError(err);
        }
  }

  /** `store`, whose committed notes this tap sees too. */
  fleets(store: FleetStore): FleetStore {
    const seenNotes = (notes: readonly FleetNote[]) => this.seen(notes.map(noteEntry));
    return {
      fleets: () => store.fleets(),
      fleet: (name) => store.fleet(name),
      release: (digest) => store.release(digest),
      releases: (fleet, page) => store.releases(fleet, page),
      history: (page) => store.history(page),
      memories: () => store.memories(),
      writeFleet: async (next, expected, note, release) => {
        const written = await store.writeFleet(next, expected, note, release);
        // Null: the fleet moved on and nothing was written, so nothing happened.
        if (written !== null) seenNotes([note]);
        return written;
      },
      note: async (note) => {
        await store.note(note);
        seenNotes([note]);
      },
      remember: async (fleet, memory, notes) => {
        await store.remember(fleet, memory, notes);
        seenNotes(notes);
      },
    };
  }
}
