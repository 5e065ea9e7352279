import { describe, expect, it } from 'vitest';
import { fleet, instance, NEW, OLD, spec, T0 } from './fixtures.case.js';
import { judgeRollout } from './judge-rollout.js';

const now = T0 + 120_000;

describe('judging a rollout', () => {
  it('judges nothing without a verdict, or once the rollout is over', () => {
    expect(judgeRollout(fleet(), [], null, now)).toBeNull();
    expect(judgeRollout(fleet({ rollout: 'complete' }), [], true, now)).toBeNull();
  });

  it('completes a rolling release once every instance of it is ready and nothing else runs', () => {
    const ready = [instance(NEW, 0, now), instance(NEW, 1, now)];
    expect(judgeRollout(fleet(), ready, true, now)).toEqual({ kind: 'complete' });
    // An old instance still alive: not yet.
    expect(judgeRollout(fleet(), [...ready, instance(OLD, 0, now)], true, now)).toBeNull();
    // Ready means healthy for minReadySeconds.
    const slow = fleet({ spec: spec({ minReadySeconds: 120 }) });
    expect(judgeRollout(slow, ready, true, now)).toBeNull();
  });

  it('starts a canary step’s pause when its shape is reached, and moves on after it', () => {
    const canary = spec({
      replicas: 2,
      strategy: { canary: { steps: [{ instances: 1, pause: '30s' }] } },
    });
    const mine = [instance(NEW, 0, now), instance(OLD, 0, now)];
    expect(judgeRollout(fleet({ spec: canary }), mine, true, now)).toMatchObject({
      kind: 'step',
      update: { from: 0, step: 0, stepReadyAt: now },
      why: { kind: 'step-reached' },
    });
    const paused = fleet({ spec: canary, stepReadyAt: now - 10_000 });
    expect(judgeRollout(paused, mine, true, now)).toBeNull();
    const over = fleet({ spec: canary, stepReadyAt: now - 30_000 });
    expect(judgeRollout(over, mine, true, now)).toMatchObject({
      kind: 'step',
      update: { from: 0, step: 1, stepStartedAt: now, stepReadyAt: null },
      why: { kind: 'step', detail: 'final step: all instances' },
    });
  });

  it('rolls back a release whose instance failed, naming it', () => {
    const mine = [
      instance(NEW, 0, now, { state: 'failed', reason: 'exit 1' }),
      instance(OLD, 0, now),
    ];
    expect(judgeRollout(fleet(), mine, true, now)).toEqual({
      kind: 'roll-back',
      reason: `${mine[0]!.id} is failed: exit 1`,
    });
    // An old release's failure is no verdict on the new one.
    const oldFailed = [instance(OLD, 0, now, { state: 'failed' })];
    expect(judgeRollout(fleet(), oldFailed, true, now)).toBeNull();
  });

  it('rolls back a release not ready within its progress deadline', () => {
    const late = fleet({ spec: spec({ progressDeadline: '60s' }) });
    const { healthySince: _, ...starting } = instance(NEW, 0, now, { state: 'starting' });
    const mine = [starting];
    expect(judgeRollout(late, mine, true, now)).toMatchObject({
      kind: 'roll-back',
      reason: 'not ready within the progress deadline (60 s)',
    });
    expect(judgeRollout(late, mine, true, T0 + 30_000)).toBeNull();
  });

  it('a refused artifact goes back if it can, and is marked refused if it cannot', () => {
    expect(judgeRollout(fleet(), [], false, now)).toEqual({
      kind: 'roll-back',
      reason: 'admission refuses the artifact',
    });
    const first = fleet({ stable: null, previous: null });
    expect(judgeRollout(first, [], false, now)).toEqual({
      kind: 'refuse',
      reason: 'admission refuses the artifact',
    });
    // Without autoRollback a failing release keeps being replaced, within its deadline.
    const manual = fleet({ spec: spec({ autoRollback: false }) });
    const failed = [instance(NEW, 0, now, { state: 'failed' })];
    expect(judgeRollout(manual, failed, true, now)).toBeNull();
  });

  it('retries a release that never started, and fails it after 3 rounds with the reason', () => {
    const {
      startedAt: _s,
      healthySince: _h,
      ...never
    } = instance(NEW, 0, now, {
      state: 'failed',
      reason: 'runc create: unable to set memory limit (E_RUNTIME)',
    });
    const streak = (failures: number) => ({
      release: NEW,
      failures,
      lastAt: now,
      reason: never.reason!,
    });
    // One or two rounds: no verdict yet (a host's passing trouble must not roll back).
    expect(judgeRollout(fleet(), [never], true, now)).toBeNull();
    expect(judgeRollout(fleet(), [never], true, now, streak(2))).toBeNull();
    const reason = `it failed to start 3 times in a row: ${never.reason!}`;
    // With somewhere to go back to: back.
    expect(judgeRollout(fleet(), [never], true, now, streak(3))).toEqual({
      kind: 'roll-back',
      reason,
    });
    // A first deploy, or no automatic rollback: the rollout fails, with the reason.
    const first = fleet({ stable: null, previous: null });
    expect(judgeRollout(first, [never], true, now, streak(3))).toEqual({ kind: 'fail', reason });
    const manual = fleet({ spec: spec({ autoRollback: false }) });
    expect(judgeRollout(manual, [never], true, now, streak(3))).toEqual({ kind: 'fail', reason });
    // Another release's streak says nothing of this one.
    expect(judgeRollout(first, [], true, now, { ...streak(3), release: OLD })).toBeNull();
    // Refused on the host counts the same way.
    const refused = { ...never, state: 'refused' as const, reason: 'blob tampered' };
    expect(judgeRollout(fleet(), [refused], true, now)).toBeNull();
  });
});
