import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aborted, paused, resumed, stepped } from '../fleet/transitions.js';
import { fleet, instance, NEW, OLD, releaseRecord, spec, T0 } from './fixtures.case.js';
import { judgeRollout } from './judge-rollout.js';
import { rolloutWait } from './waiting.js';

const now = T0 + 120_000;
const canary = spec({
  replicas: 3,
  progressDeadline: '60s',
  strategy: { canary: { steps: [{ instances: 1, pause: '30s' }, { percent: 50 }] } },
});
const mine = [instance(NEW, 0, now), instance(OLD, 0, now), instance(OLD, 1, now)];

describe('a rollout paused by hand', () => {
  it('takes no step, whatever its step, readiness, pause and deadline say', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.option(fc.integer({ min: 0, max: 600_000 }), { nil: null }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.subarray(mine),
        (step, readyAgo, startedAgo, live) => {
          const f = fleet({
            spec: canary,
            step,
            stepStartedAt: now - startedAgo,
            stepReadyAt: readyAgo === null ? null : now - readyAgo,
            pausedAt: now - 1,
          });
          const decision = judgeRollout(f, live, true, now);
          // Healthy instances only: nothing failed, so a paused rollout is left as it is.
          expect(decision).toBeNull();
        },
      ),
    );
    // Unpaused, the same facts move it on (its pause of 30 s is over).
    const over = fleet({ spec: canary, stepReadyAt: now - 30_000 });
    expect(judgeRollout(over, mine, true, now)).toMatchObject({ kind: 'step' });
    expect(judgeRollout({ ...over, pausedAt: now - 5 }, mine, true, now)).toBeNull();
    // Nor does a late step roll back while paused...
    const late = fleet({ spec: canary, stepStartedAt: now - 90_000 });
    expect(judgeRollout(late, [instance(OLD, 0, now)], true, now)).toMatchObject({
      kind: 'roll-back',
    });
    expect(
      judgeRollout({ ...late, pausedAt: now - 5 }, [instance(OLD, 0, now)], true, now),
    ).toBeNull();
  });

  it('still rolls back a release whose instance fails: a pause keeps nothing broken serving', () => {
    const failing = [instance(NEW, 0, now, { state: 'failed', reason: 'exit 1' })];
    expect(
      judgeRollout(fleet({ spec: canary, pausedAt: now - 5 }), failing, true, now),
    ).toMatchObject({ kind: 'roll-back' });
  });

  it('resumes where it stopped: the time paused is given back to the step', () => {
    const f = fleet({ spec: canary, stepStartedAt: now - 40_000, stepReadyAt: now - 20_000 });
    const p = { ...f, ...paused(f, now, 'admin').next, version: f.version + 1 };
    expect(rolloutWait(p, now + 60_000)).toEqual({ for: 'resume', since: now });
    const r = resumed(p, now + 60_000, 'admin');
    expect(r.next).toMatchObject({
      pausedAt: null,
      stepStartedAt: now + 20_000,
      stepReadyAt: now + 40_000,
    });
    expect(r.note).toMatchObject({ kind: 'resume', ledgerKind: 'rollout-resumed', actor: 'admin' });
    // 10 s of its 30 s pause were left when it was paused; 10 s are left after the resume.
    expect(rolloutWait({ ...p, ...r.next }, now + 60_000)).toEqual({
      for: 'pause',
      remainingMs: 10_000,
    });
  });

  it('refuses to pause what has no rollout or no step, to resume what is not paused', () => {
    expect(() => paused(fleet({ spec: canary, rollout: 'complete' }), now, 'admin')).toThrow(
      expect.objectContaining({ code: 'E_PAUSE_NONE' }) as Error,
    );
    expect(() => paused(fleet(), now, 'admin')).toThrow(/rolls without steps/);
    expect(() => paused(fleet({ spec: canary, pausedAt: now }), now, 'admin')).toThrow(
      /paused already/,
    );
    expect(() => resumed(fleet({ spec: canary }), now, 'admin')).toThrow(
      expect.objectContaining({ code: 'E_RESUME_NONE' }) as Error,
    );
    const p = paused(fleet({ spec: canary }), now, 'alice');
    expect(p.note).toMatchObject({
      kind: 'pause',
      ledgerKind: 'rollout-paused',
      actor: 'alice',
      summary: 'by hand (ingot pause) at canary step 1/2: 1 of 3 on the new release',
    });
    // Past its last step, or a first deploy: the full shape is being filled, nothing to hold.
    expect(() => paused(fleet({ spec: canary, step: 2 }), now, 'admin')).toThrow(
      /past its last step/,
    );
    expect(() =>
      paused(fleet({ spec: canary, previous: null, stable: null }), now, 'admin'),
    ).toThrow(expect.objectContaining({ code: 'E_PAUSE_NONE' }) as Error);
    // A promote goes on, and lifts the pause.
    const p2 = { ...fleet({ spec: canary }), ...p.next, version: 4 };
    expect(
      stepped(p2, { from: 0, step: 1, stepStartedAt: now, stepReadyAt: null }, now, {
        kind: 'promote',
        detail: 'by hand',
      })?.next.pausedAt,
    ).toBeNull();
  });
});

describe('abort', () => {
  it('goes back to the last stable release, and only ends a rollout in progress', () => {
    const f = fleet({ spec: canary, pausedAt: now - 5 });
    const a = aborted(f, releaseRecord(OLD, canary), now, 'admin');
    expect(a.next).toMatchObject({
      release: OLD,
      previous: NEW,
      rollout: 'rolled-back',
      reason: 'aborted by hand (ingot abort)',
      pausedAt: null,
    });
    expect(a.note).toMatchObject({ kind: 'abort', ledgerKind: 'rollout-aborted' });
    expect(() => aborted(fleet({ rollout: 'complete' }), releaseRecord(OLD), now, 'admin')).toThrow(
      expect.objectContaining({ code: 'E_ABORT_NONE' }) as Error,
    );
    // A first rollout has nothing to go back to.
    expect(() => aborted(fleet({ previous: null, stable: null }), null, now, 'admin')).toThrow(
      /no earlier release/,
    );
  });
});

describe('what a rollout waits for', () => {
  it('a pause with its time left, a promotion, or nothing while under way', () => {
    expect(rolloutWait(fleet({ spec: canary }), now)).toBeNull();
    expect(rolloutWait(fleet({ spec: canary, stepReadyAt: now - 10_000 }), now)).toEqual({
      for: 'pause',
      remainingMs: 20_000,
    });
    // Step 2 has no pause: it goes on at once.
    expect(rolloutWait(fleet({ spec: canary, step: 1, stepReadyAt: now }), now)).toBeNull();
    const preview = spec({ strategy: { blueGreen: {} } });
    expect(rolloutWait(fleet({ spec: preview, stepReadyAt: now }), now)).toEqual({
      for: 'promotion',
    });
    expect(
      rolloutWait(fleet({ spec: preview, stepReadyAt: now, rollout: 'complete' }), now),
    ).toBeNull();
  });
});
