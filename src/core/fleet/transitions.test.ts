import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import type { FleetRecord, ReleaseRecord } from './record.js';
import { fleetSchema, type FleetSpec } from './spec.js';
import { because, deployed, judged, rollbackTarget, rolledBack, stepped } from './transitions.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 100) });

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const spec = (over: Record<string, unknown> = {}): FleetSpec =>
  fleetSchema.parse({ name: 'web', artifact: 'x', replicas: 3, ...over });
const release = (c: string, over: Record<string, unknown> = {}): ReleaseRecord => ({
  digest: d(c),
  fleet: 'web',
  artifact: d(c === 'f' ? 'e' : 'a'),
  spec: spec(over),
  createdAt: 1,
});
/** A fleet record as the store would hand it out, at version 7. */
const record = (over: Partial<FleetRecord> = {}): FleetRecord => ({
  ...deployed(null, release('1'), 10, 'admin').next,
  version: 7,
  ...over,
});

describe('fleet transitions', () => {
  it('a first deploy starts a rollout with nothing to go back to', () => {
    const { next, note } = deployed(null, release('1'), 10, 'alice');
    expect(next).toMatchObject({
      release: d('1'),
      previous: null,
      stable: null,
      rollout: 'progressing',
      step: 0,
      stepStartedAt: 10,
      stepReadyAt: null,
    });
    expect(note).toMatchObject({ kind: 'deploy', actor: 'alice', summary: d('1') });
    expect(note.subjects).toEqual([d('1'), d('a')]);
  });

  it("a deploy's note says whether a rollout starts, and with which strategy", () => {
    const detail = (existing: FleetRecord | null, r: ReleaseRecord) =>
      deployed(existing, r, 20, 'admin').note.detail;
    expect(detail(null, release('1'))).toMatchObject({ rollout: 'started', strategy: 'rolling' });
    const canary = { strategy: { canary: { steps: [{ instances: 1 }] } } };
    expect(detail(record({ rollout: 'complete' }), release('2', canary))).toMatchObject({
      rollout: 'started',
      strategy: 'canary',
    });
    // Resizing the running release starts nothing; a failed one deployed again starts anew.
    expect(detail(record({ rollout: 'complete' }), release('1', { replicas: 5 }))).toMatchObject({
      rollout: 'unchanged',
    });
    expect(detail(record({ rollout: 'failed' }), release('1'))).toMatchObject({
      rollout: 'started',
    });
    const blueGreen = { strategy: { blueGreen: {} } };
    expect(detail(null, release('3', blueGreen))?.['strategy']).toBe('blueGreen');
  });

  it('a new release remembers the one it replaces; the same one again only rescales', () => {
    const running = record({ rollout: 'complete', stable: d('1') });
    const next = deployed(running, release('2'), 20, 'admin').next;
    expect(next).toMatchObject({ release: d('2'), previous: d('1'), stable: d('1') });
    expect(next.rollout).toBe('progressing');

    const rescaled = deployed(running, release('1', { replicas: 5 }), 20, 'admin').next;
    expect(rescaled).toMatchObject({ release: d('1'), rollout: 'complete', rolloutStartedAt: 10 });
    expect(rescaled.spec.replicas).toBe(5);
    // A refused or rolled-back release deployed again is judged again.
    for (const rollout of ['refused', 'rolled-back'] as const)
      expect(deployed(record({ rollout }), release('1'), 30, 'admin').next).toMatchObject({
        rollout: 'progressing',
        rolloutStartedAt: 30,
        reason: null,
      });
  });

  it('judges only a progressing rollout; completing makes the release the stable one', () => {
    expect(judged(record(), 'complete', null, 5)?.next.stable).toBe(d('1'));
    const refused = judged(record({ stable: d('0') }), 'refused', 'no', 5);
    expect(refused?.next).toMatchObject({ rollout: 'refused', reason: 'no', stable: d('0') });
    expect(refused?.note).toMatchObject({ kind: 'refused', ledgerKind: 'rollout-refused' });
    expect(judged(record({ rollout: 'complete' }), 'complete', null, 5)).toBeNull();
  });

  it('moves a step only from the step it was decided on', () => {
    const at1 = record({ step: 1 });
    const update = { from: 1, step: 2, stepStartedAt: 9, stepReadyAt: null };
    expect(stepped(at1, update, 9, { kind: 'step', detail: 'x' })?.next.step).toBe(2);
    expect(stepped(record({ step: 2 }), update, 9, { kind: 'step', detail: 'x' })).toBeNull();
    expect(
      stepped(record({ step: 1, rollout: 'complete' }), update, 9, { kind: 'step', detail: 'x' }),
    ).toBeNull();
  });

  it('rolls back to the release asked for, else the last stable one, else the one before', () => {
    const digestArb = fc.constantFrom(null, d('1'), d('2'), d('3'));
    fc.assert(
      fc.property(
        digestArb,
        digestArb,
        fc.option(fc.constant(d('4')), { nil: undefined }),
        (stable, previous, to) => {
          const fleet = record({ release: d('2'), stable, previous });
          const target = rollbackTarget(fleet, to);
          if (to !== undefined) expect(target).toBe(to);
          else if (stable !== null && stable !== d('2')) expect(target).toBe(stable);
          else expect(target).toBe(previous);
        },
      ),
    );
  });

  it('a rollback runs the old release with the fleet’s current size and pacing', () => {
    const fleet = record({
      release: d('2'),
      spec: spec({
        replicas: 6,
        env: { V: '2' },
        strategy: { canary: { steps: [{ instances: 1 }] } },
      }),
    });
    const { next, note } = rolledBack(
      fleet,
      release('1', { env: { V: '1' } }),
      'bad',
      50,
      'controller',
    );
    expect(next).toMatchObject({
      release: d('1'),
      previous: d('2'),
      rollout: 'rolled-back',
      reason: 'bad',
      step: 0,
    });
    expect(next.spec.env).toEqual({ V: '1' });
    expect(next.spec.replicas).toBe(6);
    expect(next.spec.strategy).toEqual(fleet.spec.strategy);
    expect(note).toMatchObject({ kind: 'rollback', actor: 'controller' });
    expect(note.summary).toBe(`${d('2')} → ${d('1')}: bad`);
  });
});

describe('a reason given by hand', () => {
  it("goes into the note's detail, after a reason the change had, and changes nothing else", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (why) => {
        const plain = deployed(null, release('1'), 10, 'alice');
        const given = because(plain, why);
        expect(given.note.detail).toEqual({ ...plain.note.detail, reason: why });
        expect(given.next).toBe(plain.next);
        const back = rolledBack(record(), release('0'), 'by hand (ingot rollback)', 20, 'admin');
        expect(because(back, why).note.detail?.['reason']).toBe(`by hand (ingot rollback): ${why}`);
      }),
    );
  });

  it('none given: the change as it was', () => {
    const plain = deployed(null, release('1'), 10, 'alice');
    expect(because(plain, undefined)).toBe(plain);
  });
});
