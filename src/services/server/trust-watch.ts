import type { LedgerEntryDraft } from '../../core/ledger/index.js';

export interface TrustWatchDeps {
  readonly policyFile?: string;
  readonly keyFiles: readonly string[];
  /** A file's content digest, or "unreadable". */
  readonly fingerprint: (file: string) => string;
  readonly record: (event: LedgerEntryDraft) => void;
  readonly now: () => number;
  /** Who records it ("server@host"). */
  readonly actor: string;
}

/**
 * What admission trusts, by digest: the policy file and the key files. Admission reads them
 * afresh on every check, so what it trusted at any moment is only known if every change is
 * recorded: at start, and whenever `check` finds the files changed.
 */
export class TrustWatch {
  private last: string | null = null;

  constructor(private readonly deps: TrustWatchDeps) {}

  /** Record what admission trusts now ("loaded", at start). */
  note(change: 'loaded' | 'changed'): void {
    const state = this.state();
    this.last = JSON.stringify(state);
    this.deps.record({
      time: this.deps.now(),
      actor: this.deps.actor,
      kind: 'policy',
      subjects: [],
      detail: { change, ...state },
    });
  }

  /** Record it again if any of the files changed since it was last recorded. */
  check(): void {
    if (JSON.stringify(this.state()) !== this.last) this.note('changed');
  }

  private state() {
    const { policyFile, keyFiles, fingerprint } = this.deps;
    return {
      ...(policyFile !== undefined && { policyFile, policy: fingerprint(policyFile) }),
      keys: keyFiles.map((k) => ({ file: k, key: fingerprint(k) })),
    };
  }
}
