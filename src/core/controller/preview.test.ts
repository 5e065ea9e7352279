import { describe, expect, it } from 'vitest';
import { deployed } from '../fleet/transitions.js';
import { instanceName } from '../planner/plan.js';
import { fleet, instance, NEW, OLD, releaseRecord, spec, T0 } from './fixtures.case.js';
import { previewRollout } from './preview.js';

const now = T0 + 120_000;
const releases = (s = spec()) =>
  new Map([
    [OLD, releaseRecord(OLD, s)],
    [NEW, releaseRecord(NEW, s)],
  ]);

describe('previewRollout', () => {
  it('a new fleet: every instance starts, nothing stops', () => {
    const s = spec({ replicas: 3 });
    const f = { ...deployed(null, releaseRecord(NEW, s), now, 'admin').next, version: 1 };
    const p = previewRollout(f, [], releases(s), now);
    expect(p.start.map((i) => i.id)).toEqual([0, 1, 2].map((n) => instanceName('web', NEW, n)));
    expect(p.stop).toEqual([]);
    expect(p.stay).toEqual([]);
    expect(p.steps).toEqual(['all instances']);
    // The controller's next pass, in the planner's words: all three at once (no floor to keep).
    expect(p.next.start).toHaveLength(3);
  });

  it('a new release replaces every old instance, one at a time as the budgets allow', () => {
    const mine = [instance(OLD, 0, now), instance(OLD, 1, now)];
    const f = fleet({ spec: spec({ strategy: { rolling: { maxSurge: 1, maxUnavailable: 0 } } }) });
    const p = previewRollout(f, mine, releases(), now);
    expect(p.stop).toEqual(mine.map((i) => ({ id: i.id, release: OLD, reason: 'old-release' })));
    expect(p.start.map((i) => i.release)).toEqual([NEW, NEW]);
    expect(p.stay).toEqual([]);
    // Its next pass only surges one: the floor of 2 ready instances holds.
    expect(p.next).toMatchObject({ start: [{ release: NEW }], stop: [] });
  });

  it('a canary goes through its steps to the full shape', () => {
    const s = spec({
      replicas: 4,
      strategy: { canary: { steps: [{ instances: 1, pause: '1m' }, { percent: 50 }] } },
    });
    const mine = [0, 1, 2, 3].map((n) => instance(OLD, n, now));
    const p = previewRollout(fleet({ spec: s }), mine, releases(s), now);
    expect(p.steps).toEqual([
      'canary step 1/2: 1 of 4 on the new release',
      'canary step 2/2: 2 of 4 on the new release',
      'final step: all instances',
    ]);
    expect(p.start).toHaveLength(4);
    expect(p.stop).toHaveLength(4);
  });

  it('a rescale of the same release keeps what runs and starts only the difference', () => {
    const s = spec({ replicas: 3 });
    const mine = [instance(OLD, 0, now), instance(OLD, 1, now)];
    const f = fleet({ release: OLD, rollout: 'complete', stable: OLD, spec: s });
    const p = previewRollout(f, mine, releases(s), now);
    expect(p.stay).toEqual(mine.map((i) => i.id));
    expect(p.stop).toEqual([]);
    expect(p.start.map((i) => i.release)).toEqual([OLD]);
  });

  it('a tainted instance is replaced, and the planner says why', () => {
    const s = spec({ replicas: 1 });
    const mine = [instance(OLD, 0, now, { integrity: 'tainted' })];
    const f = fleet({ release: OLD, rollout: 'complete', stable: OLD, spec: s });
    expect(previewRollout(f, mine, releases(s), now).stop).toEqual([
      { id: mine[0]!.id, release: OLD, reason: 'tainted' },
    ]);
  });
});
