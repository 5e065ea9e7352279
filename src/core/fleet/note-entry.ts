import type { LedgerEntryDraft } from '../ledger/entry.js';
import type { FleetNote } from './record.js';

/**
 * The ledger entry a fleet note becomes: what the store appends in the note's transaction,
 * and what the server's metrics and log see once it committed. Pure.
 */
export function noteEntry(note: FleetNote): LedgerEntryDraft {
  return {
    time: note.time,
    actor: note.actor,
    kind: note.ledgerKind ?? note.kind,
    subjects: [...new Set(note.subjects ?? [])].sort(),
    fleet: note.fleet,
    ...(note.instance !== undefined && { instance: note.instance }),
    detail: { summary: note.summary, ...note.detail },
  };
}
