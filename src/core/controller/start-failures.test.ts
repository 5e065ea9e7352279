import { describe, expect, it } from 'vitest';
import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetNote, FleetRecord } from '../fleet/record.js';
import { judged, rolledBack } from '../fleet/transitions.js';
import { fleet, instance, NEW, OLD, releaseRecord, spec, T0 } from './fixtures.case.js';
import { judgeRollout } from './judge-rollout.js';
import { EMPTY_MEMORY, type ControllerMemory } from './memory.js';
import { planFleet } from './plan-fleet.js';
import { judgeStarts } from './start-failures.js';

const REASON = 'unable to set memory limit to 1 (E_RUNTIME)';

/** An instance the host could not start: failed, never ran. */
const never = (release = NEW, n = 0): ObservedInstance => {
  const {
    startedAt: _s,
    healthySince: _h,
    ...rest
  } = instance(release, n, T0, {
    state: 'failed',
    reason: REASON,
  });
  return rest;
};

interface Run {
  readonly fleet: FleetRecord;
  /** Every ledger record the controller made (history notes and events). */
  readonly records: readonly FleetNote[];
  /** When each round of start attempts was made. */
  readonly rounds: readonly number[];
  readonly attempts: number;
  /** When the rollout left `progressing`, or null. */
  readonly endedAt: number | null;
  readonly mine: readonly ObservedInstance[];
}

/**
 * The controller's passes, pure, every `everyMs` for `forMs`, against a host where every
 * start of a release in `failing` fails: what the executor and the agent do, as data.
 */
function simulate(
  start: FleetRecord,
  mine0: readonly ObservedInstance[],
  opts: { failing: ReadonlySet<string>; everyMs: number; forMs: number; failFirst?: number },
): Run {
  let f = start;
  let mine = [...mine0];
  let memory: ControllerMemory = EMPTY_MEMORY;
  const records: FleetNote[] = [];
  const rounds: number[] = [];
  let attempts = 0;
  let endedAt: number | null = null;
  for (let now = T0; now < T0 + opts.forMs; now += opts.everyMs) {
    const streak = judgeStarts(f.name, [f.release], memory, mine, now).streaks[0];
    const verdict = judgeRollout(f, mine, true, now, streak);
    if (verdict?.kind === 'fail' || verdict?.kind === 'complete') {
      const change = judged(f, verdict.kind === 'fail' ? 'failed' : 'complete', null, now)!;
      f = { ...change.next, reason: verdict.kind === 'fail' ? verdict.reason : null, version: 0 };
      records.push(change.note);
    } else if (verdict?.kind === 'roll-back') {
      const change = rolledBack(f, releaseRecord(OLD, f.spec), verdict.reason, now, 'controller');
      f = { ...change.next, version: 0 };
      records.push(change.note);
    }
    if (verdict && endedAt === null && f.rollout !== 'progressing') endedAt = now;
    const decision = planFleet({
      fleet: f,
      mine,
      admitted: new Map([
        [NEW, true],
        [OLD, true],
      ]),
      releases: new Map(),
      memory,
      now,
    });
    memory = decision.memory;
    records.push(...decision.notes);
    const stopped = new Set(decision.plan.stop.map((s) => s.id));
    mine = mine.filter((i) => !stopped.has(i.id));
    if (decision.plan.start.length > 0) rounds.push(now);
    for (const s of decision.plan.start) {
      attempts++;
      const fails =
        opts.failing.has(s.release) || (opts.failFirst !== undefined && attempts <= opts.failFirst);
      const n = Number(s.id.split('-').at(-1));
      mine.push(
        fails
          ? { ...never(s.release as typeof NEW, n), id: s.id }
          : { ...instance(s.release as typeof NEW, n, now, { healthyFor: 0 }), id: s.id },
      );
    }
  }
  return { fleet: f, records, rounds, attempts, endedAt, mine };
}

describe('starts that fail', () => {
  it('count one round per pass however many failed together, and end when one starts', () => {
    const first = judgeStarts('web', [NEW], EMPTY_MEMORY, [never(NEW, 0), never(NEW, 1)], T0);
    expect(first.streaks).toEqual([{ release: NEW, failures: 1, lastAt: T0, reason: REASON }]);
    expect(first.held.get(NEW)).toMatch(/failed to start once in a row .*next attempt in 2 s/);
    expect(first.notes).toHaveLength(1);
    // Seen again (not yet cleaned up): counted once.
    const memory = { startStreaks: first.streaks, startCounted: first.counted };
    const again = judgeStarts('web', [NEW], memory, [never(NEW, 0)], T0 + 500);
    expect(again.streaks[0]!.failures).toBe(1);
    expect(again.notes).toEqual([]);
    // Past its back-off: no longer held.
    expect(judgeStarts('web', [NEW], memory, [], T0 + 2_000).held.size).toBe(0);
    // An instance of it that started after the last failed round ends the streak.
    const started = instance(NEW, 2, T0 + 5_000, { healthyFor: 0 });
    expect(judgeStarts('web', [NEW], memory, [started], T0 + 5_000).streaks).toEqual([]);
    // A release that left the shape leaves its streak behind.
    expect(judgeStarts('web', [OLD], memory, [], T0 + 5_000).streaks).toEqual([]);
  });

  it('a first deploy that cannot start fails within seconds, with the reason, and stops', () => {
    const first = fleet({ stable: null, previous: null, spec: spec({ replicas: 3 }) });
    const run = simulate(first, [], { failing: new Set([NEW]), everyMs: 500, forMs: 600_000 });
    expect(run.fleet.rollout).toBe('failed');
    expect(run.fleet.reason).toBe(`it failed to start 3 times in a row: ${REASON}`);
    expect(run.endedAt! - T0).toBeLessThan(10_000);
    // Three rounds, backed off (2 s, then 4 s), then nothing more for the rest of 10 minutes.
    expect(run.rounds.map((t) => t - T0)).toEqual([0, 2_500, 7_000]); // seen a pass later
    expect(run.attempts).toBe(9);
    expect(run.records.map((r) => r.kind)).toEqual(['start-failed', 'start-failed', 'failed']);
  });

  it('a new release that cannot start is rolled back, and what served keeps serving', () => {
    const serving = [instance(OLD, 0, T0), instance(OLD, 1, T0)];
    const run = simulate(fleet(), serving, {
      failing: new Set([NEW]),
      everyMs: 500,
      forMs: 60_000,
    });
    expect(run.fleet).toMatchObject({ rollout: 'rolled-back', release: OLD });
    expect(run.fleet.reason).toMatch(/^it failed to start 3 times in a row: /);
    expect(run.endedAt! - T0).toBeLessThan(10_000);
    expect(run.records.map((r) => r.kind)).toEqual(['start-failed', 'start-failed', 'rollback']);
    for (const i of serving) expect(run.mine.map((x) => x.id)).toContain(i.id);
  });

  it('a passing failure is retried and the rollout completes', () => {
    const first = fleet({ stable: null, previous: null });
    const run = simulate(first, [], {
      failing: new Set(),
      failFirst: 2,
      everyMs: 500,
      forMs: 60_000,
    });
    expect(run.fleet.rollout).toBe('complete');
    expect(run.records.map((r) => r.kind)).toEqual(['start-failed', 'complete']);
  });

  it('a stable fleet that can no longer start retries for ever, backed off, its records logarithmic', () => {
    const stable = fleet({ rollout: 'complete', stable: NEW, spec: spec({ replicas: 2 }) });
    const day = 24 * 3600_000;
    const run = simulate(stable, [], { failing: new Set([NEW]), everyMs: 2_000, forMs: day });
    // At most one round per back-off step: 2 s, 4 s … then every 5 minutes.
    expect(run.rounds.length).toBeLessThanOrEqual(day / 300_000 + 10);
    const gaps = run.rounds.slice(1).map((t, n) => t - run.rounds[n]!);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(2_000);
    expect(Math.min(...gaps.slice(8))).toBeGreaterThanOrEqual(300_000);
    // One record for the first failure, then one per doubling: 297 rounds leave 9.
    expect(run.records.length).toBe(Math.floor(Math.log2(run.rounds.length)) + 1);
    expect(run.records.at(-1)!.detail).toMatchObject({ failures: 256, reason: REASON });
  });
});
