import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../ledger/entry.js';
import type { ObservedInstance } from '../../domain/instance.js';
import { driftCases } from './drift-view.js';

const R1 = `sha256:${'1'.repeat(64)}`;
const R2 = `sha256:${'2'.repeat(64)}`;
const ART = `sha256:${'a'.repeat(64)}` as ObservedInstance['artifact'];

const entry = (
  seq: number,
  kind: string,
  instance: string,
  detail: Record<string, unknown> = {},
): LedgerEntry => ({
  seq,
  time: 1_700_000_000_000 + seq * 1000,
  actor: 'agent',
  kind,
  subjects: [],
  fleet: 'web',
  instance,
  detail: { release: R1, ...detail },
});
const finding = {
  detector: 'files',
  path: '/srv/www/index.html',
  expected: 'sha256:x',
  actual: 'sha256:y',
  time: '2026-01-01T00:00:00.000Z',
};

describe('driftCases', () => {
  it('shows the evidence, expected against actual, and names the replacement', () => {
    const cases = driftCases(
      [
        entry(1, 'instance-started', 'web-a'),
        entry(2, 'instance-started', 'web-b'),
        entry(3, 'drift', 'web-a', { evidence: [finding] }),
        entry(4, 'taint', 'web-a', { evidence: [finding] }),
        entry(5, 'instance-started', 'web-c'),
      ],
      [
        { id: 'web-b', fleet: 'web', artifact: ART, state: 'healthy', integrity: 'verified' },
        { id: 'web-c', fleet: 'web', artifact: ART, state: 'starting' },
      ],
    );
    expect(cases).toEqual([
      {
        instance: 'web-a',
        release: R1,
        detectedAt: new Date(1_700_000_003_000).toISOString(),
        evidence: [finding],
        present: false,
        replacedBy: 'web-c',
        replacement: { state: 'starting', integrity: 'unchecked' },
      },
    ]);
  });

  it('shows a tainted instance its host reports before the ledger has it', () => {
    const [c] = driftCases(
      [entry(1, 'instance-started', 'web-a')],
      [
        {
          id: 'web-a',
          fleet: 'web',
          artifact: ART,
          state: 'healthy',
          integrity: 'tainted',
          release: R1,
          evidence: [{ ...finding, detector: 'mounts' }],
        },
      ],
    );
    expect(c).toMatchObject({ instance: 'web-a', present: true, replacedBy: null });
    expect(c?.evidence.map((e) => e.detector)).toEqual(['mounts']);
  });

  it('keeps only well-formed findings from a ledger detail, cut to length', () => {
    const [c] = driftCases(
      [
        entry(1, 'drift', 'web-a', {
          evidence: [null, 7, { path: 1 }, { ...finding, actual: 'x'.repeat(10_000) }],
        }),
      ],
      [],
    );
    expect(c?.evidence).toHaveLength(1);
    expect(c?.evidence[0]?.actual.length).toBeLessThan(2100);
  });

  it('pairs each replacement at most once, after its finding, of the same release', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const ev = fc.record({
      kind: fc.constantFrom('drift', 'taint', 'instance-started'),
      instance: fc.constantFrom(...ids),
      release: fc.constantFrom(R1, R2),
    });
    fc.assert(
      fc.property(fc.array(ev, { maxLength: 30 }), (list) => {
        const entries = list.map((e, seq) =>
          entry(seq, e.kind, e.instance, { release: e.release, evidence: [finding] }),
        );
        const cases = driftCases(entries, []);
        const by = cases.map((c) => c.replacedBy).filter((r): r is string => r !== null);
        expect(new Set(by).size).toBe(by.length);
        expect(new Set(cases.map((c) => c.instance)).size).toBe(cases.length);
        for (const c of cases) {
          expect(c.replacedBy).not.toBe(c.instance);
          if (c.replacedBy === null) continue;
          const first = entries.find(
            (e) => e.instance === c.instance && (e.kind === 'drift' || e.kind === 'taint'),
          )!;
          const starts = entries.filter(
            (e) =>
              e.kind === 'instance-started' && e.instance === c.replacedBy && e.seq > first.seq,
          );
          expect(starts.map((s) => s.detail['release'])).toContain(c.release);
        }
      }),
    );
  });
});
