import type { LedgerEntryDraft } from '../core/ledger/index.js';

/**
 * Where ledger events wait until the ledger has them: each is written here before it is
 * queued, so a process killed before the next append loses nothing; the next start replays
 * what is left.
 */
export interface Outbox {
  /** What an earlier run left (an entry it could not read back whole is dropped). */
  read(): unknown[];
  add(draft: LedgerEntryDraft): void;
  /** Hold exactly these from now on (what is still queued after an append). */
  replace(drafts: readonly LedgerEntryDraft[]): void;
}
