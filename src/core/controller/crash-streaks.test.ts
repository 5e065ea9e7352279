import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetNote, FleetRecord } from '../fleet/record.js';
import { judged, rolledBack } from '../fleet/transitions.js';
import { worthRecording } from './backoff.js';
import { crashLine, crossesPowerOfTwo, judgeCrashes } from './crash-streaks.js';
import { fleet, instance, NEW, OLD, releaseRecord, spec, T0 } from './fixtures.case.js';
import { judgeRollout } from './judge-rollout.js';
import { EMPTY_MEMORY, type ControllerMemory } from './memory.js';
import { planFleet } from './plan-fleet.js';

const SAID = "ModuleNotFoundError: No module named 'http'";

/** An instance that ran from `startedAt` and exited 1, saying SAID. */
const exited = (release = NEW, n = 0, at = T0): ObservedInstance => {
  const { healthySince: _h, ...rest } = instance(release, n, at, {
    state: 'failed',
    reason: `its process exited 1: ${SAID}`,
    exit: { code: 1, oomKilled: false, at: new Date(at).toISOString(), lastLine: SAID },
  });
  return rest;
};

interface Run {
  readonly fleet: FleetRecord;
  readonly records: readonly FleetNote[];
  /** When each instance was started. */
  readonly starts: readonly number[];
  readonly endedAt: number | null;
  readonly mine: readonly ObservedInstance[];
}

/**
 * The controller's passes, pure, every `everyMs` for `forMs`, against a host where every
 * instance of a release in `crashing` exits `crashAfterMs` after it started.
 */
function simulate(
  start: FleetRecord,
  mine0: readonly ObservedInstance[],
  opts: { crashing: ReadonlySet<string>; everyMs: number; forMs: number; crashAfterMs: number },
): Run {
  let f = start;
  let mine = [...mine0];
  let memory: ControllerMemory = EMPTY_MEMORY;
  const records: FleetNote[] = [];
  const starts: number[] = [];
  let endedAt: number | null = null;
  for (let now = T0; now < T0 + opts.forMs; now += opts.everyMs) {
    // The agent: what has run crashAfterMs exits.
    mine = mine.map((i) =>
      opts.crashing.has(i.release!) &&
      i.state !== 'failed' &&
      now - Date.parse(i.startedAt!) >= opts.crashAfterMs
        ? { ...exited(i.release as typeof NEW, 0, now), id: i.id, startedAt: i.startedAt! }
        : i,
    );
    const crashes = judgeCrashes(f.name, [f.release], memory, mine, now).streaks[0];
    const verdict = judgeRollout(f, mine, true, now, undefined, crashes);
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
    for (const s of decision.plan.start) {
      starts.push(now);
      const n = Number(s.id.split('-').at(-1));
      mine.push({
        ...instance(s.release as typeof NEW, n, now, { healthyFor: 0, state: 'starting' }),
        id: s.id,
        startedAt: new Date(now).toISOString(),
      });
    }
  }
  return { fleet: f, records, starts, endedAt, mine };
}

describe('instances that crash', () => {
  it('count once each however long they are seen, back off 10 s doubling, and say why', () => {
    const first = judgeCrashes('web', [NEW], EMPTY_MEMORY, [exited(NEW, 0)], T0);
    expect(first.streaks).toEqual([
      { release: NEW, crashes: 1, firstAt: T0, lastAt: T0, exit: 'exited 1', said: SAID },
    ]);
    expect(first.held.get(NEW)).toBe(
      `crash-looping: exited 1, once: ${SAID} (release ${'2'.repeat(12)}): next start in 10 s`,
    );
    expect(first.notes.map((n) => n.kind)).toEqual(['crash']);
    let memory = { crashStreaks: first.streaks, crashCounted: first.counted };
    // Seen again (not yet cleaned up): counted once.
    const again = judgeCrashes('web', [NEW], memory, [exited(NEW, 0)], T0 + 500);
    expect(again.streaks[0]!.crashes).toBe(1);
    expect(again.notes).toEqual([]);
    expect(judgeCrashes('web', [NEW], memory, [], T0 + 10_000).held.size).toBe(0);
    // Three more, 10 s apart: "4 times in 30 s", held 80 s after the fourth.
    for (let k = 1; k <= 3; k++) {
      const v = judgeCrashes('web', [NEW], memory, [exited(NEW, k)], T0 + k * 10_000);
      memory = { crashStreaks: v.streaks, crashCounted: v.counted };
      expect(v.notes.length).toBe(k === 1 || k === 3 ? 1 : 0); // the 2nd and the 4th
    }
    expect(crashLine(memory.crashStreaks[0]!)).toBe(
      `crash-looping: exited 1, 4 times in 30 s: ${SAID}`,
    );
    const held = judgeCrashes('web', [NEW], memory, [], T0 + 30_000 + 79_000).held.get(NEW);
    expect(held).toMatch(/next start in 1 s$/);
    expect(judgeCrashes('web', [NEW], memory, [], T0 + 30_000 + 80_000).held.size).toBe(0);
  });

  it('end once an instance has served 10 s since the last crash, not before', () => {
    const first = judgeCrashes('web', [NEW], EMPTY_MEMORY, [exited(NEW, 0)], T0);
    const memory = { crashStreaks: first.streaks, crashCounted: first.counted };
    const up = (healthyFor: number, now: number) => [instance(NEW, 1, now, { healthyFor })];
    expect(
      judgeCrashes('web', [NEW], memory, up(9_000, T0 + 20_000), T0 + 20_000).streaks,
    ).toHaveLength(1);
    expect(
      judgeCrashes('web', [NEW], memory, up(10_000, T0 + 20_000), T0 + 20_000).streaks,
    ).toEqual([]);
    // Healthy since before the crash: says nothing about the release's new instances.
    expect(
      judgeCrashes('web', [NEW], memory, up(60_000, T0 + 20_000), T0 + 20_000).streaks,
    ).toHaveLength(1);
    // A release that left the shape leaves its streak behind.
    expect(judgeCrashes('web', [OLD], memory, [], T0 + 5_000).streaks).toEqual([]);
  });

  it('an OOM kill says so', () => {
    const killed = {
      ...exited(NEW, 0),
      exit: { signal: 'SIGKILL', oomKilled: true, at: new Date(T0).toISOString() },
    };
    const v = judgeCrashes('web', [NEW], EMPTY_MEMORY, [killed], T0);
    expect(crashLine(v.streaks[0]!)).toBe('crash-looping: killed by SIGKILL (out of memory), once');
    expect(v.notes[0]!.detail).toMatchObject({
      instances: [{ id: killed.id, signal: 'SIGKILL', oomKilled: true }],
    });
  });

  it('are recorded when their count reaches 1 or a power of two, however many crash in one pass', () => {
    fc.assert(
      fc.property(fc.nat(5_000), fc.nat(300), (from, step) => {
        const to = from + step;
        let expected = false;
        for (let n = from + 1; n <= to; n++) expected ||= worthRecording(n);
        expect(crossesPowerOfTwo(from, to)).toBe(expected);
      }),
    );
  });

  it('a first deploy that crashes at once fails after three crashes with the reason, long before its deadline', () => {
    const first = fleet({
      stable: null,
      previous: null,
      spec: spec({ replicas: 1, progressDeadline: '10m' }),
    });
    const run = simulate(first, [], {
      crashing: new Set([NEW]),
      everyMs: 500,
      forMs: 600_000,
      crashAfterMs: 100,
    });
    expect(run.fleet.rollout).toBe('failed');
    expect(run.fleet.reason).toMatch(
      new RegExp(`^crash-looping: exited 1, 3 times in 3\\d s: ${SAID}$`),
    );
    // Started at 0, then after 10 s and 20 s of back-off; then never again.
    expect(run.starts).toHaveLength(3);
    expect(run.endedAt! - T0).toBeGreaterThanOrEqual(30_000);
    expect(run.endedAt! - T0).toBeLessThan(40_000);
    expect(run.records.map((r) => r.kind)).toEqual(['crash', 'crash', 'failed']);
  });

  it('a crashing release over a stable one is rolled back, and what served keeps serving', () => {
    const serving = [instance(OLD, 0, T0), instance(OLD, 1, T0)];
    const run = simulate(fleet(), serving, {
      crashing: new Set([NEW]),
      everyMs: 500,
      forMs: 60_000,
      crashAfterMs: 100,
    });
    expect(run.fleet).toMatchObject({ rollout: 'rolled-back', release: OLD });
    expect(run.fleet.reason).toContain(`its process exited 1: ${SAID}`);
    for (const i of serving) expect(run.mine.map((x) => x.id)).toContain(i.id);
  });

  it('a stable release that crashes for a day restarts backed off to 5 min, its records logarithmic', () => {
    const stable = fleet({ rollout: 'complete', stable: NEW, spec: spec({ replicas: 1 }) });
    const day = 24 * 3600_000;
    const run = simulate(stable, [], {
      crashing: new Set([NEW]),
      everyMs: 2_000,
      forMs: day,
      crashAfterMs: 1_000,
    });
    const gaps = run.starts.slice(1).map((t, n) => t - run.starts[n]!);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(10_000);
    expect(Math.min(...gaps.slice(6))).toBeGreaterThanOrEqual(300_000);
    expect(run.starts.length).toBeLessThanOrEqual(day / 300_000 + 10);
    expect(run.records.length).toBe(Math.floor(Math.log2(run.starts.length - 1)) + 1);
  });
});
