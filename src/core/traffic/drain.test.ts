import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DRAIN, gateStops } from './drain.js';

const ids = ['a', 'b', 'c', 'd', 'e'];
const input = fc.record({
  running: fc.subarray(ids),
  ready: fc.subarray(ids).map((s) => new Set(s)),
  desired: fc.subarray(ids).map((s) => new Set(s)),
  draining: fc
    .array(fc.tuple(fc.constantFrom(...ids), fc.integer({ min: 0, max: 100_000 })))
    .map((e) => new Map(e)),
  sessions: fc.dictionary(fc.constantFrom(...ids), fc.nat({ max: 5 })),
  now: fc.integer({ min: 100_000, max: 200_000 }),
});

function run(i: {
  running: string[];
  ready: Set<string>;
  desired: Set<string>;
  draining: ReadonlyMap<string, number>;
  sessions: Record<string, number>;
  now: number;
}) {
  return gateStops({ ...i, sessions: (id) => i.sessions[id], policy: DEFAULT_DRAIN });
}

describe('draining before a stop', () => {
  it('holds only instances to stop that took requests, and never past the timeout', () => {
    fc.assert(
      fc.property(input, (i) => {
        const d = run(i);
        for (const id of d.hold) {
          expect(i.running).toContain(id);
          expect(i.desired.has(id)).toBe(false);
          expect(i.ready.has(id) || i.draining.has(id)).toBe(true);
          expect(i.now - d.draining.get(id)!).toBeLessThan(DEFAULT_DRAIN.timeoutMs);
        }
        // Every held instance drains; none that is wanted or has stopped does.
        for (const id of d.draining.keys()) {
          expect(i.running).toContain(id);
          expect(i.desired.has(id)).toBe(false);
        }
        expect([...d.hold].every((id) => d.draining.has(id))).toBe(true);
        // Deterministic.
        expect(run(i)).toEqual(d);
      }),
    );
  });

  it('waits for the open sessions, at least the minimum, at most the timeout', () => {
    const base = {
      running: ['a'],
      ready: new Set(['a']),
      desired: new Set<string>(),
      sessions: { a: 2 },
    };
    // Ready and to stop: its drain begins now, and it is held.
    let d = run({ ...base, draining: new Map(), now: 10_000 });
    expect([...d.hold]).toEqual(['a']);
    expect(d.draining.get('a')).toBe(10_000);
    // Sessions still open: held; they ended but the minimum has not passed: held.
    d = run({ ...base, ready: new Set(), draining: d.draining, now: 12_000 });
    expect(d.hold.has('a')).toBe(true);
    d = run({ ...base, sessions: { a: 0 }, draining: new Map([['a', 11_500]]), now: 12_000 });
    expect(d.hold.has('a')).toBe(true);
    // Answered: it may stop, and still drains until it is gone.
    d = run({ ...base, sessions: { a: 0 }, draining: new Map([['a', 10_000]]), now: 12_000 });
    expect(d.hold.size).toBe(0);
    expect(d.draining.has('a')).toBe(true);
    // Sessions the edge could not count: held until the timeout, not taken for none.
    d = run({ ...base, sessions: {}, draining: new Map([['a', 10_000]]), now: 20_000 });
    expect(d.hold.has('a')).toBe(true);
    // A client that never lets go: stopped at the timeout.
    d = run({ ...base, draining: new Map([['a', 10_000]]), now: 10_000 + DEFAULT_DRAIN.timeoutMs });
    expect(d.hold.size).toBe(0);
    // Gone: forgotten.
    d = run({ ...base, running: [], draining: new Map([['a', 10_000]]), now: 12_000 });
    expect(d.draining.size).toBe(0);
  });

  it('stops at once what never took requests, and forgets a drain when it is wanted again', () => {
    const never = run({
      running: ['a'],
      ready: new Set(),
      desired: new Set(),
      draining: new Map(),
      sessions: {},
      now: 5,
    });
    expect(never.hold.size + never.draining.size).toBe(0);
    const wanted = run({
      running: ['a'],
      ready: new Set(['a']),
      desired: new Set(['a']),
      draining: new Map([['a', 1]]),
      sessions: { a: 3 },
      now: 5,
    });
    expect(wanted.hold.size + wanted.draining.size).toBe(0);
  });
});
