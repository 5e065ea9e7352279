import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleetActions, isFleetAction, type ActionFacts } from './fleet-actions.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const base: ActionFacts = {
  rollout: 'progressing',
  pausedAt: null,
  stepCount: 1,
  promotable: true,
  previous: A,
  stable: A,
  release: B,
};

describe('fleetActions', () => {
  it('offers pause and abort on a canary step, resume and abort once paused', () => {
    expect(fleetActions(base)).toEqual(['pause', 'abort']);
    expect(fleetActions({ ...base, pausedAt: '1970-01-01T00:00:00.001Z' })).toEqual([
      'resume',
      'abort',
    ]);
  });
  it('never pauses a rolling rollout, nor one past its last step', () => {
    expect(fleetActions({ ...base, stepCount: 0 })).toEqual(['abort']);
    expect(fleetActions({ ...base, promotable: false })).toEqual(['abort']);
  });
  it('rolls back a settled fleet with an earlier release; a first deploy has nothing', () => {
    expect(fleetActions({ ...base, rollout: 'complete', stable: B })).toEqual(['rollback']);
    expect(fleetActions({ ...base, previous: null, stable: null })).toEqual(['pause']);
    expect(fleetActions({ ...base, rollout: 'complete', previous: null, stable: B })).toEqual([]);
  });
  it('never offers both pause and resume, nor abort and rollback', () => {
    const facts = fc.record({
      rollout: fc.constantFrom('progressing', 'complete', 'rolled-back', 'failed', 'refused'),
      pausedAt: fc.option(
        fc.nat().map((ms) => new Date(ms).toISOString()),
        { nil: null },
      ),
      stepCount: fc.nat(3),
      promotable: fc.boolean(),
      previous: fc.constantFrom(null, A, B),
      stable: fc.constantFrom(null, A, B),
      release: fc.constantFrom(A, B),
    });
    fc.assert(
      fc.property(facts, (f) => {
        const got = fleetActions(f);
        expect(got.includes('pause') && got.includes('resume')).toBe(false);
        expect(got.includes('abort') && got.includes('rollback')).toBe(false);
        if (f.rollout !== 'progressing') expect(got.filter((a) => a !== 'rollback')).toEqual([]);
        expect(new Set(got).size).toBe(got.length);
      }),
    );
  });
  it('knows its names, and nothing else', () => {
    expect(['pause', 'resume', 'abort', 'rollback'].every(isFleetAction)).toBe(true);
    expect(isFleetAction('promote')).toBe(false);
    expect(isFleetAction('constructor')).toBe(false);
  });
});
