import { describe, expect, it } from 'vitest';
import type { HistoryEntry, NumberedRelease } from '../fleet/record.js';
import { NEW, OLD, releaseRecord, spec } from '../controller/fixtures.case.js';
import { releasesView, wantedReleases } from './release-view.js';

const line = (seq: number, kind: string, detail: string, more: Partial<HistoryEntry> = {}) => ({
  seq,
  time: 1_700_000_000_000 + seq,
  fleet: 'web',
  kind,
  detail,
  actor: 'admin',
  ...more,
});

describe('releasesView', () => {
  const history: HistoryEntry[] = [
    line(1, 'deploy', OLD),
    line(2, 'complete', ''),
    line(3, 'deploy', NEW),
    line(4, 'rollback', `${NEW} → ${OLD}: by hand (ingot rollback)`, {
      reason: 'by hand (ingot rollback)',
    }),
  ];
  const releases = new Map<string, NumberedRelease>([
    [OLD, { ...releaseRecord(OLD, spec({ env: { TOKEN: 'hunter2' }, replicas: 1 })), number: 1 }],
    [
      NEW,
      {
        ...releaseRecord(NEW, spec({ env: { TOKEN: 'swordfish', MORE: 'x' }, replicas: 1 })),
        number: 2,
      },
    ],
  ]);

  it('lists each change of release, newest first, with who, why and the diff before it', () => {
    const v = releasesView('web', history, releases);
    expect(v.changes.map((c) => [c.kind, c.from, c.to, c.actor, c.reason])).toEqual([
      ['rollback', NEW, OLD, 'admin', 'by hand (ingot rollback)'],
      ['deploy', OLD, NEW, 'admin', undefined],
      ['deploy', null, OLD, 'admin', undefined],
    ]);
    // Each names the release it moved to by number, as `ingot describe release web@N` does.
    expect(v.changes.map((c) => c.number)).toEqual([1, 2, 1]);
    expect(v.changes[1]?.diff?.env).toEqual({ added: ['MORE'], removed: [], changed: ['TOKEN'] });
    expect(v.changes[2]?.diff?.created).toBe(true);
    expect(v.changes[1]?.time).toBe(new Date(1_700_000_000_003).toISOString());
    expect(JSON.stringify(v)).not.toMatch(/hunter2|swordfish/);
    expect(v.history.map((h) => h.seq)).toEqual([4, 3, 2, 1]);
  });

  it('asks for the releases it diffs, and has no diff for one the store lacks', () => {
    expect(wantedReleases(history).sort()).toEqual([NEW, OLD].sort());
    const v = releasesView('web', history, new Map([[NEW, releases.get(NEW)!]]));
    expect(v.changes.map((c) => c.diff === null)).toEqual([true, true, true]);
    expect(v.changes.map((c) => c.number)).toEqual([null, 2, null]);
  });

  it("read from the newest page, does not call the page's first change the fleet's first release", () => {
    // Lines 3 and 4 only: the fleet ran something before line 3, which the page does not say.
    const page = history.slice(2);
    const v = releasesView('web', page, releases, true);
    expect(v.changes.map((c) => [c.kind, c.from, c.to, c.diff === null])).toEqual([
      ['rollback', NEW, OLD, false],
      ['deploy', null, NEW, true],
    ]);
    expect(wantedReleases(page, true).sort()).toEqual([NEW, OLD].sort());
    // The whole history: the first deploy is the first release.
    expect(releasesView('web', history, releases).changes.at(-1)?.diff?.created).toBe(true);
  });

  it('ignores lines that only look like release changes', () => {
    const v = releasesView(
      'web',
      [line(1, 'deploy', 'not a digest'), line(2, 'taint', `${OLD} → x`)],
      releases,
    );
    expect(v.changes).toEqual([]);
  });
});
