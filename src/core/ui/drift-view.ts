import type { ObservedInstance } from '../../domain/instance.js';
import type { LedgerEntry } from '../ledger/entry.js';

/** One finding: what the measurement said against what was found. */
export interface UiEvidence {
  /** Which check found it (files, mounts, exe, access …): the kind of drift. */
  readonly detector: string;
  readonly path: string;
  /** What the artifact's measurement says (a digest, a mode, a mount …). */
  readonly expected: string;
  readonly actual: string;
  readonly time: string;
}

/** A tainted instance, its evidence, and what replaced it. */
export interface DriftCase {
  readonly instance: string;
  readonly release: string | null;
  /** When the first finding was recorded (RFC 3339). */
  readonly detectedAt: string;
  readonly evidence: readonly UiEvidence[];
  /** Still reported by its host (being replaced), or gone. */
  readonly present: boolean;
  /** The instance started for its release after it was found, once one was. */
  readonly replacedBy: string | null;
  /** The replacement as its host reports it now; null once gone or before it starts. */
  readonly replacement: {
    readonly state: string;
    readonly integrity: string;
  } | null;
}

/** The ledger kinds the view reads. */
export const DRIFT_KINDS = ['drift', 'taint', 'instance-started'] as const;
export const MAX_CASES = 50;
const MAX_EVIDENCE = 20;
/** Ledger details are any JSON: a finding's strings are cut to what a person reads. */
const MAX_TEXT = 2048;

const iso = (ms: number): string => new Date(ms).toISOString();
const text = (v: unknown): string | null =>
  typeof v === 'string' ? (v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v) : null;

/** The findings an entry's detail carries; anything not shaped as one is left out. */
function evidenceOf(detail: Readonly<Record<string, unknown>>, at: number): UiEvidence[] {
  const list = detail['evidence'];
  if (!Array.isArray(list)) return [];
  const out: UiEvidence[] = [];
  for (const e of list as unknown[]) {
    if (typeof e !== 'object' || e === null) continue;
    const r = e as Record<string, unknown>;
    const detector = text(r['detector']);
    const path = text(r['path']);
    if (detector === null || path === null) continue;
    out.push({
      detector,
      path,
      expected: text(r['expected']) ?? '',
      actual: text(r['actual']) ?? '',
      time: text(r['time']) ?? iso(at),
    });
  }
  return out;
}

const same = (a: UiEvidence, b: UiEvidence) =>
  a.detector === b.detector && a.path === b.path && a.actual === b.actual;

const releaseOf = (e: LedgerEntry): string | null =>
  typeof e.detail['release'] === 'string' ? e.detail['release'] : null;

/**
 * A fleet's drift, newest first: every instance found drifted or accessed (the ledger's
 * drift and taint entries, and what its host reports now, which the ledger may not have yet),
 * with its evidence merged, and the instance that replaced it: the first one started for the
 * same release after the finding that no earlier case took. `entries` are the fleet's, in any
 * order; `live` are its instances now. Pure.
 */
export function driftCases(
  entries: readonly LedgerEntry[],
  live: readonly ObservedInstance[],
): DriftCase[] {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq);
  const found = new Map<
    string,
    { seq: number; time: number; release: string | null; evidence: UiEvidence[] }
  >();
  const add = (id: string, seq: number, time: number, release: string | null, ev: UiEvidence[]) => {
    const c = found.get(id) ?? { seq, time, release, evidence: [] };
    for (const e of ev) if (!c.evidence.some((k) => same(k, e))) c.evidence.push(e);
    c.evidence.splice(MAX_EVIDENCE);
    found.set(id, { ...c, release: c.release ?? release });
  };
  for (const e of sorted)
    if ((e.kind === 'drift' || e.kind === 'taint') && e.instance !== undefined)
      add(e.instance, e.seq, e.time, releaseOf(e), evidenceOf(e.detail, e.time));
  // Tainted now, its finding maybe not in the ledger yet: after every ledger entry.
  const last = (sorted.at(-1)?.seq ?? -1) + 1;
  for (const i of live)
    if (i.integrity === 'tainted' || (i.evidence?.length ?? 0) > 0)
      add(
        i.id,
        found.get(i.id)?.seq ?? last,
        Date.parse(i.evidence?.[0]?.time ?? '') || 0,
        i.release ?? null,
        (i.evidence ?? []).map(({ detector, path, expected, actual, time }) => ({
          detector,
          path,
          expected,
          actual,
          time,
        })),
      );
  const starts = sorted.filter((e) => e.kind === 'instance-started' && e.instance !== undefined);
  const taken = new Set<string>();
  const byId = new Map(live.map((i) => [i.id, i]));
  const cases: DriftCase[] = [];
  for (const [id, c] of [...found].sort((a, b) => a[1].seq - b[1].seq)) {
    const start = starts.find(
      (s) =>
        s.seq > c.seq &&
        s.instance !== id &&
        !taken.has(s.instance!) &&
        (c.release === null || releaseOf(s) === c.release),
    );
    if (start) taken.add(start.instance!);
    const now = start ? byId.get(start.instance!) : undefined;
    cases.push({
      instance: id,
      release: c.release,
      detectedAt: c.time > 0 ? iso(c.time) : (c.evidence[0]?.time ?? ''),
      evidence: c.evidence,
      present: byId.has(id),
      replacedBy: start?.instance ?? null,
      replacement: now ? { state: now.state, integrity: now.integrity ?? 'unchecked' } : null,
    });
  }
  return cases.reverse().slice(0, MAX_CASES);
}
