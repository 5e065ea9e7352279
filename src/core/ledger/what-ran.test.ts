import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from './entry.js';
import { whatRan } from './what-ran.js';

const ART = `sha256:${'a'.repeat(64)}`;
const REL = `sha256:${'b'.repeat(64)}`;
let seq = 0;
const e = (time: number, kind: string, instance: string, detail = {}): LedgerEntry => ({
  seq: seq++,
  time,
  actor: 'agent',
  kind,
  subjects: [ART, REL].sort(),
  fleet: 'web',
  instance,
  detail: { release: REL, ...detail },
});

describe('whatRan', () => {
  const log = [
    e(10, 'admission', 'web-0', { where: 'host', allowed: true }),
    e(11, 'instance-started', 'web-0'),
    e(12, 'instance-started', 'web-1'),
    e(20, 'drift', 'web-1'),
    e(21, 'instance-stopped', 'web-1'),
    e(30, 'instance-stopped', 'web-0'),
  ];

  it('replays starts and stops up to the moment, with admission and findings', () => {
    expect(whatRan(log, 5)).toEqual([]);
    const at15 = whatRan(log, 15);
    expect(at15.map((r) => r.instance)).toEqual(['web-0', 'web-1']);
    expect(at15[0]).toMatchObject({ artifact: ART, release: REL, fleet: 'web' });
    expect(at15[0]!.admission?.seq).toBe(log[0]!.seq);
    expect(at15[1]!.admission).toBeUndefined();
    const at20 = whatRan(log, 20);
    expect(at20[1]!.findings.map((f) => f.kind)).toEqual(['drift']);
    expect(whatRan(log, 25).map((r) => r.instance)).toEqual(['web-0']);
    expect(whatRan(log, 30)).toEqual([]);
    expect(whatRan(log, 15, 'other')).toEqual([]);
  });
});
