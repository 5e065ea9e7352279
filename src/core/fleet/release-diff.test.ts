import { describe, expect, it } from 'vitest';
import { fleet, NEW, OLD, releaseRecord, spec } from '../controller/fixtures.case.js';
import { releaseDiff } from './release-diff.js';

const running = (over: Record<string, unknown>) =>
  fleet({ release: OLD, rollout: 'complete', spec: spec(over) });

describe('releaseDiff', () => {
  it('a new fleet: created, a new release, every env name added', () => {
    const d = releaseDiff(null, releaseRecord(NEW, spec({ env: { B: '2', A: '1' } })));
    expect(d).toMatchObject({
      fleet: 'web',
      created: true,
      newRelease: true,
      release: { from: null, to: NEW },
      env: { added: ['A', 'B'], removed: [], changed: [] },
    });
  });

  it('names env keys added, removed and changed, never their values', () => {
    const d = releaseDiff(
      running({ env: { KEEP: 'x', SECRET: 'hunter2', GONE: 'y' } }),
      releaseRecord(NEW, spec({ env: { KEEP: 'x', SECRET: 'swordfish', NEW_ONE: 'z' } })),
    );
    expect(d.env).toEqual({ added: ['NEW_ONE'], removed: ['GONE'], changed: ['SECRET'] });
    expect(d.newRelease).toBe(true);
    const text = JSON.stringify(d);
    for (const value of ['hunter2', 'swordfish', '"z"', '"y"']) expect(text).not.toContain(value);
  });

  it('lists resources one by one, release settings first, then replicas and strategy', () => {
    const d = releaseDiff(
      running({ replicas: 2, resources: { memory: '64Mi', cpus: 0.5 } }),
      releaseRecord(
        NEW,
        spec({
          replicas: 4,
          resources: { memory: '128Mi', cpus: 0.5 },
          strategy: { canary: { steps: [{ instances: 1 }] } },
        }),
      ),
    );
    expect(d.settings).toEqual([
      { field: 'resources.memory', from: 64 * 1024 ** 2, to: 128 * 1024 ** 2, release: true },
      { field: 'replicas', from: 2, to: 4, release: false },
      {
        field: 'strategy',
        from: { rolling: { maxSurge: '25%', maxUnavailable: 0 } },
        to: { canary: { steps: [{ instances: 1 }] } },
        release: false,
      },
    ]);
  });

  it('the same release again: no new release, no change but what changed', () => {
    const current = running({ replicas: 2 });
    const d = releaseDiff(current, { ...releaseRecord(OLD, spec({ replicas: 3 })) });
    expect(d.newRelease).toBe(false);
    expect(d.env).toEqual({ added: [], removed: [], changed: [] });
    expect(d.settings).toEqual([{ field: 'replicas', from: 2, to: 3, release: false }]);
    expect(releaseDiff(current, releaseRecord(OLD, spec({ replicas: 2 }))).settings).toEqual([]);
  });
});
