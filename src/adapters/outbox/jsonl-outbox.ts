import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import type { Outbox } from '../../ports/outbox.js';
import { writeFileReplacing } from '../shared/atomic-file.js';

/**
 * The outbox as a JSON-lines file: an event is appended as one line (into the page cache: it
 * survives the process being killed), and the file is replaced by what is still queued
 * after each append to the ledger.
 */
export class JsonlOutbox implements Outbox {
  constructor(private readonly file: string) {}

  read(): unknown[] {
    if (!existsSync(this.file)) return [];
    const drafts: unknown[] = [];
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        const draft: unknown = JSON.parse(line);
        // Only an object can be an event; anything else was never written by this file.
        if (typeof draft === 'object' && draft !== null && !Array.isArray(draft))
          drafts.push(draft);
      } catch {
        // A line cut short by the crash itself: nothing of it can be trusted.
      }
    }
    return drafts;
  }

  add(draft: LedgerEntryDraft): void {
    appendFileSync(this.file, `${JSON.stringify(draft)}\n`, { mode: 0o600 });
  }

  replace(drafts: readonly LedgerEntryDraft[]): void {
    // Atomic, not synced: after a power cut the outbox may hold events already appended
    // (replayed once more, as after any crash), and the ledger's own commit was synced.
    writeFileReplacing(this.file, drafts.map((d) => `${JSON.stringify(d)}\n`).join(''), {
      mode: 0o600,
    });
  }
}
