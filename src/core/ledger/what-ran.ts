import type { LedgerEntry } from './entry.js';

/** An instance that was running at a moment, with the entries that say so. */
export interface RanInstance {
  readonly instance: string;
  readonly fleet: string | undefined;
  readonly artifact: string | undefined;
  readonly release: string | undefined;
  /** The entry recording its start. */
  readonly started: LedgerEntry;
  /** The last admission on the host before it started: what the artifact was built from. */
  readonly admission: LedgerEntry | undefined;
  /** Drift, taint or break-glass recorded against it before that moment. */
  readonly findings: readonly LedgerEntry[];
}

const FINDINGS = new Set(['drift', 'taint', 'break-glass-open', 'break-glass-close']);

/**
 * "What ran at `at`?", answered from the ledger alone: replay instance starts and stops
 * up to that moment, in log order. Pure; the entries are trusted only as far as the caller
 * verified them (proofs are the caller's part).
 */
export function whatRan(
  entries: readonly LedgerEntry[],
  at: number,
  fleet?: string,
): RanInstance[] {
  const running = new Map<string, RanInstance>();
  const admissions = new Map<string, LedgerEntry>();
  for (const e of entries) {
    // Not `break`: entries queued in batches may be appended a little out of time order.
    if (e.time > at) continue;
    if (fleet !== undefined && e.fleet !== fleet) continue;
    const id = e.instance;
    if (id === undefined) continue;
    if (e.kind === 'admission' && e.detail['where'] === 'host') admissions.set(id, e);
    else if (e.kind === 'instance-started') {
      const release = e.detail['release'];
      running.set(id, {
        instance: id,
        fleet: e.fleet,
        artifact: e.subjects.find((s) => s.startsWith('sha256:') && s !== release),
        release: typeof release === 'string' ? release : undefined,
        started: e,
        admission: admissions.get(id),
        findings: [],
      });
    } else if (e.kind === 'instance-stopped') running.delete(id);
    else if (FINDINGS.has(e.kind)) {
      const r = running.get(id);
      if (r) running.set(id, { ...r, findings: [...r.findings, e] });
    }
  }
  return [...running.values()].sort((a, b) => (a.instance < b.instance ? -1 : 1));
}
