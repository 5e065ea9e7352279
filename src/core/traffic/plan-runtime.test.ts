import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Edge } from './edge.js';
import {
  applyCommand,
  arbEdgeOf,
  arbSameListens,
  arbSkeleton,
  capacity,
  fleet,
  modelOf,
  plain,
  server,
  shuffled,
} from './fixtures.case.js';
import { planRuntime } from './plan-runtime.js';
import { formatCommand, type RuntimeCommand } from './runtime-command.js';

function commandsOf(current: Edge, desired: Edge): readonly RuntimeCommand[] {
  const plan = planRuntime(current, desired);
  if (plan.kind !== 'runtime') throw new Error(`expected a runtime plan, got ${plan.kind}`);
  return plan.commands;
}

describe('planRuntime', () => {
  it('applied to the current state in a model of HAProxy, gives the desired state', () => {
    fc.assert(
      fc.property(arbSameListens, ([current, desired]) => {
        const model = modelOf(current);
        for (const c of commandsOf(current, desired)) applyCommand(model, c); // throws on a refusal
        expect(plain(model)).toEqual(plain(modelOf(desired)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('is empty when current and desired are equal, in whatever order they are listed', () => {
    fc.assert(
      fc.property(arbSkeleton.chain(arbEdgeOf), fc.nat(), (edge, seed) => {
        expect(planRuntime(edge, edge)).toEqual({ kind: 'runtime', commands: [] });
        expect(planRuntime(edge, shuffled(edge, seed))).toEqual({ kind: 'runtime', commands: [] });
      }),
    );
  });

  it('never deletes a server that it has not first put in maintenance (or found there)', () => {
    fc.assert(
      fc.property(arbSameListens, ([current, desired]) => {
        const model = modelOf(current);
        for (const c of commandsOf(current, desired)) {
          if (c.op === 'del') expect(model.get(c.backend)?.get(c.server)?.state).toBe('maint');
          applyCommand(model, c);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('never lets a backend take less traffic than the lesser of before and after, at any step', () => {
    fc.assert(
      fc.property(arbSameListens, ([current, desired]) => {
        const model = modelOf(current);
        const after = modelOf(desired);
        const floor = new Map(
          [...model.keys()].map((b) => [b, Math.min(capacity(model, b), capacity(after, b))]),
        );
        for (const c of commandsOf(current, desired)) {
          applyCommand(model, c);
          expect(capacity(model, c.backend)).toBeGreaterThanOrEqual(floor.get(c.backend) ?? 0);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('is deterministic: the same two states in any order give the same commands', () => {
    fc.assert(
      fc.property(arbSameListens, fc.nat(), fc.nat(), ([current, desired], s1, s2) => {
        const once = planRuntime(current, desired);
        expect(planRuntime(shuffled(current, s1), shuffled(desired, s2))).toEqual(once);
        expect(planRuntime(current, desired)).toEqual(once);
      }),
    );
  });

  it('asks for a reload, and sends nothing, when a listen is added, removed or moved', () => {
    fc.assert(
      fc.property(
        arbSkeleton.chain(arbEdgeOf),
        arbSkeleton.chain(arbEdgeOf),
        (current, desired) => {
          const listens = (e: Edge) =>
            JSON.stringify(
              [...e.fleets]
                .map((f) => [f.fleet, f.service.listen, f.service.previewListen ?? null])
                .sort(),
            );
          const plan = planRuntime(current, desired);
          expect(plan.kind).toBe(listens(current) === listens(desired) ? 'runtime' : 'reload');
        },
      ),
    );
  });

  it('says why it needs a reload', () => {
    const web = fleet('web', '127.0.0.1:18080', [server('w-1')]);
    const moved = fleet('web', '127.0.0.1:18090', [server('w-1')]);
    const api = fleet('api', '127.0.0.1:18081', []);
    expect(planRuntime({ fleets: [web] }, { fleets: [moved, api] })).toEqual({
      kind: 'reload',
      reasons: ['fleet api is new', 'fleet web listens on 127.0.0.1:18090, not 127.0.0.1:18080'],
    });
  });

  it('lets a new server in at its weight, and drains and removes an old one in that order', () => {
    const before = { fleets: [fleet('web', '127.0.0.1:18080', [server('w-1', 10)])] };
    const after = {
      fleets: [fleet('web', '127.0.0.1:18080', [server('w-1', 10, 'drain'), server('w-2', 30)])],
    };
    expect(commandsOf(before, after).map(formatCommand)).toEqual([
      'add server be_web/w-2 10.88.0.4:8080 weight 30',
      'set server be_web/w-2 state ready',
      'set server be_web/w-1 state drain',
    ]);
    const gone = { fleets: [fleet('web', '127.0.0.1:18080', [server('w-2', 30)])] };
    expect(commandsOf(after, gone).map(formatCommand)).toEqual([
      'set server be_web/w-1 state maint',
      'del server be_web/w-1',
    ]);
  });

  it('refuses a desired edge that does not validate, before planning anything', () => {
    const bad = { fleets: [fleet('web', '127.0.0.1:18080', [server('w-1', 300)])] };
    expect(() => planRuntime({ fleets: [] }, bad)).toThrow(
      expect.objectContaining({ code: 'E_EDGE_INVALID' }),
    );
  });
});
