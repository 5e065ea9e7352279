import { describe, expect, it } from 'vitest';
import { NEW, OLD, T0, fleet, instance, spec } from '../controller/fixtures.case.js';
import { shareOf } from './canary-weights.js';
import { edgeFleetOf } from './edge-of.js';

const NOW = T0 + 600_000;
const SERVICE = { port: 8080, listen: '127.0.0.1:18080', previewListen: '127.0.0.1:18081' };
const at = (i: number) => ({ address: `10.88.0.${10 + i}` });

describe('the edge of a fleet', () => {
  it('routes to ready instances only; the rest wait in maintenance, the stopping ones drain', () => {
    const f = fleet({
      rollout: 'complete',
      release: OLD,
      spec: spec({ service: SERVICE, minReadySeconds: 10 }),
    });
    const mine = [
      instance(OLD, 0, NOW, at(0)),
      instance(OLD, 1, NOW, { ...at(1), healthyFor: 5_000 }), // not minReadySeconds yet
      instance(OLD, 2, NOW, { ...at(2), state: 'starting', healthySince: undefined as never }),
      instance(OLD, 3, NOW, at(3)),
      instance(OLD, 4, NOW, { ...at(4), state: 'stopped' }), // no process: no server
      instance(OLD, 5, NOW, { state: 'healthy' }), // no address yet
    ];
    const view = edgeFleetOf(f, mine, new Set([mine[3]!.id]), NOW)!;
    expect(view.edge.backends.live.map((s) => [s.address, s.state, s.port])).toEqual([
      ['10.88.0.10', 'ready', 8080],
      ['10.88.0.11', 'maint', 8080],
      ['10.88.0.12', 'maint', 8080],
      ['10.88.0.13', 'drain', 8080],
    ]);
    expect(view.edge.backends.preview).toEqual([]);
    expect(edgeFleetOf(fleet(), mine, new Set(), NOW)).toBeNull(); // no service: no edge
  });

  it("gives a canary step its percent of requests, whatever the instances' count", () => {
    const f = fleet({
      spec: spec({
        service: SERVICE,
        replicas: 4,
        strategy: { canary: { steps: [{ percent: 10 }, { percent: 50 }] } },
      }),
    });
    const mine = [
      instance(NEW, 0, NOW, at(0)),
      ...[0, 1, 2, 3].map((n) => instance(OLD, n, NOW, at(n + 1))),
    ];
    const view = edgeFleetOf(f, mine, new Set(), NOW)!;
    const live = view.edge.backends.live;
    const weightOf = (release: string) =>
      live.find((s) => mine.find((i) => i.id === s.instance)!.release === release)!.weight;
    const share = shareOf({ new: weightOf(NEW), old: weightOf(OLD) }, { new: 1, old: 4 });
    expect(Math.abs(share - 10)).toBeLessThanOrEqual(1);
    expect(view.reasons).toEqual([]);
    // An old instance draining counts for no side: 10 % over the 3 that serve.
    const leaving = new Set([mine[4]!.id]);
    const drained = edgeFleetOf(f, mine, leaving, NOW)!.edge.backends.live;
    const w = (release: string) =>
      drained.find(
        (s) =>
          !leaving.has(s.instance) && mine.find((i) => i.id === s.instance)!.release === release,
      )!.weight;
    expect(
      Math.abs(shareOf({ new: w(NEW), old: w(OLD) }, { new: 1, old: 3 }) - 10),
    ).toBeLessThanOrEqual(1);
    // No ready instance of the new release yet: the old ones take every request.
    const early = edgeFleetOf(f, mine.slice(1), new Set(), NOW)!;
    expect(new Set(early.edge.backends.live.map((s) => s.weight)).size).toBe(1);
  });

  it('promotes a smaller preview only once as many of the new release serve as of the old', () => {
    const small = spec({
      service: SERVICE,
      replicas: 2,
      strategy: { blueGreen: { previewReplicas: 1 } },
    });
    const one = [
      instance(NEW, 0, NOW, at(0)),
      instance(OLD, 0, NOW, at(1)),
      instance(OLD, 1, NOW, at(2)),
    ];
    const early = edgeFleetOf(fleet({ spec: small, step: 1 }), one, new Set(), NOW)!;
    expect(early.edge.backends.live.every((s) => s.state === 'ready')).toBe(true);
    const two = [...one, instance(NEW, 1, NOW, at(3))];
    const moved = edgeFleetOf(fleet({ spec: small, step: 1 }), two, new Set(), NOW)!;
    expect(
      moved.edge.backends.live
        .filter((s) => s.state === 'drain')
        .map((s) => s.instance)
        .sort(),
    ).toEqual([one[1]!.id, one[2]!.id].sort());
  });

  it('answers a blue-green preview on previewListen only, and all of it once promoted', () => {
    const blueGreen = spec({ service: SERVICE, strategy: { blueGreen: {} } });
    const mine = [instance(NEW, 0, NOW, at(0)), instance(OLD, 0, NOW, at(1))];
    const previewing = edgeFleetOf(fleet({ spec: blueGreen }), mine, new Set(), NOW)!;
    expect(previewing.edge.backends.preview.map((s) => s.instance)).toEqual([mine[0]!.id]);
    expect(previewing.edge.backends.live.map((s) => s.instance)).toEqual([mine[1]!.id]);
    const promoted = edgeFleetOf(fleet({ spec: blueGreen, step: 1 }), mine, new Set(), NOW)!;
    expect(promoted.edge.backends.preview).toEqual([]);
    // Every request to the new release at once: the old one finishes what it has.
    expect(promoted.edge.backends.live.map((s) => [s.instance, s.state])).toEqual(
      [
        [mine[1]!.id, 'drain'],
        [mine[0]!.id, 'ready'],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
  });
});
