import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteState } from '../../adapters/sqlite/state.js';
import {
  instance,
  NEW,
  OLD,
  releaseRecord,
  spec,
  T0,
} from '../../core/controller/fixtures.case.js';
import type { ReleaseRecord } from '../../core/fleet/record.js';
import { deployed } from '../../core/fleet/transitions.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import { changeFleet } from '../fleets/change-fleet.js';
import type { Edge } from '../../core/traffic/edge.js';
import type { ServerCounters } from '../../core/traffic/stat.js';
import type { EdgePort } from '../../ports/edge.js';
import { Controller, type AgentApi } from './index.js';

/** The host as a script: what it reports, and every desired set it is handed. */
class ScriptedHost implements AgentApi {
  observed: ObservedInstance[] = [];
  readonly applied: (readonly DesiredInstance[])[] = [];
  observe() {
    return Promise.resolve(this.observed);
  }
  apply(desired: readonly DesiredInstance[]) {
    this.applied.push(desired);
    return Promise.resolve([]);
  }
}

let dir: string;
let state: SqliteState;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ingot-controller-'));
  state = await SqliteState.open(join(dir, 'state.db'));
  const guarded = spec({ replicas: 4, meltdown: { maxFailedPercent: 50, window: '10m' } });
  const release = releaseRecord(NEW, guarded);
  await changeFleet(state.fleets, 'web', (f) =>
    Promise.resolve({ change: deployed(f, release, T0, 'admin'), release }),
  );
});

afterEach(async () => {
  await state.close();
  rmSync(dir, { recursive: true, force: true });
});

const controller = (host: AgentApi, now: () => number, edge?: EdgePort) =>
  new Controller({
    fleets: state.fleets,
    agent: host,
    admitted: () => Promise.resolve(true),
    now,
    ...(edge && { edge }),
  });

/** Deploy `release` to fleet web at `at`, as `ingot deploy` would. */
const deploy = (release: ReleaseRecord, at = T0) =>
  changeFleet(state.fleets, 'web', (f) =>
    Promise.resolve({ change: deployed(f, release, at, 'admin'), release }),
  );

describe('the controller', () => {
  it('keeps holding a meltdown after a restart, and records it once', async () => {
    const host = new ScriptedHost();
    host.observed = [0, 1, 2].map((n) => instance(NEW, n, T0, { state: 'failed' }));
    await controller(host, () => T0 + 1000).reconcile();
    const kinds = async () =>
      (await state.fleets.history({ fleet: 'web', limit: 500, before: null }))
        .reverse()
        .map((h) => h.kind);
    expect(await kinds()).toContain('meltdown');

    // The dead instances were cleaned up; the controller restarts with nothing in memory.
    host.observed = [instance(NEW, 3, T0 + 2000)];
    const statuses = await controller(host, () => T0 + 60_000).reconcile();
    expect(statuses[0]!.reasons.at(-1)).toMatch(/meltdown guard/);
    // Nothing new started while held: the desired set is what already runs.
    expect(host.applied.at(-1)!.map((d) => d.id)).toEqual([host.observed[0]!.id]);
    expect((await kinds()).filter((k) => k === 'meltdown')).toHaveLength(1);
  });

  it('lets a decision land only on the fleet it was made on', async () => {
    const host = new ScriptedHost();
    host.observed = [0, 1, 2, 3].map((n) => instance(NEW, n, T0));
    // Another writer (a deploy) moves the fleet between the controller's read and its write.
    const fleets = state.fleets;
    const racing = new Controller({
      fleets: {
        fleets: async () => {
          const listed = await fleets.fleets();
          const again = releaseRecord(NEW, spec({ replicas: 5 }));
          await changeFleet(fleets, 'web', (f) =>
            Promise.resolve({ change: deployed(f, again, T0 + 10, 'admin'), release: again }),
          );
          return listed;
        },
        release: (d) => fleets.release(d),
        releases: (f, page) => fleets.releases(f, page),
        history: (page) => fleets.history(page),
        fleet: (n) => fleets.fleet(n),
        writeFleet: (...a) => fleets.writeFleet(...a),
        note: (n) => fleets.note(n),
        memories: () => fleets.memories(),
        remember: (...a) => fleets.remember(...a),
      },
      agent: host,
      admitted: () => Promise.resolve(true),
      now: () => T0 + 120_000,
    });
    await racing.reconcile();
    // The rollout was complete on the stale read, but the fleet moved: not written.
    const f = await fleets.fleet('web');
    expect(f?.rollout).toBe('progressing');
    expect(f?.spec.replicas).toBe(5);
    expect(
      (await fleets.history({ fleet: 'web', limit: 500, before: null }))
        .reverse()
        .map((h) => h.kind),
    ).toEqual(['deploy', 'deploy']);
  });

  it('drains an instance that took requests before it stops, and tells the edge', async () => {
    const served = releaseRecord(
      NEW,
      spec({ replicas: 1, service: { port: 8080, listen: '127.0.0.1:18080' } }),
    );
    await deploy(served);
    const host = new ScriptedHost();
    host.observed = [0, 1].map((n) => instance(NEW, n, T0, { address: `10.88.0.${n + 2}` }));
    const edge = new ScriptedEdge();
    let now = T0 + 60_000;
    const c = controller(host, () => now, edge);
    // One too many: its stop waits while it drains, with a request still open on it.
    for (const i of host.observed) edge.open.set(i.id, 1);
    await c.reconcile();
    expect(
      host.applied
        .at(-1)!
        .map((d) => d.id)
        .sort(),
    ).toEqual(host.observed.map((i) => i.id));
    const states = () =>
      new Map(edge.applied.at(-1)!.fleets[0]!.backends.live.map((s) => [s.instance, s.state]));
    const leaving = [...states()].find(([, st]) => st === 'drain')?.[0];
    const staying = host.observed.map((i) => i.id).find((id) => id !== leaving)!;
    expect(states()).toEqual(
      new Map([
        [leaving!, 'drain'],
        [staying, 'ready'],
      ]),
    );
    // Still open a second later: still held.
    now += 1500;
    await c.reconcile();
    expect(host.applied.at(-1)).toHaveLength(2);
    // Answered: it stops, and is never routed to again.
    now += 1000;
    edge.open.set(leaving!, 0);
    await c.reconcile();
    expect(host.applied.at(-1)!.map((d) => d.id)).toEqual([staying]);
    expect(states().get(leaving!)).toBe('drain');
    expect(states().get(staying)).toBe('ready');
  });
});

describe('the controller and an edge that fails', () => {
  it('does not start a drain the edge was not told of: the stop waits', async () => {
    const served = releaseRecord(
      NEW,
      spec({ replicas: 1, service: { port: 8080, listen: '127.0.0.1:18080' } }),
    );
    await deploy(served);
    const host = new ScriptedHost();
    host.observed = [0, 1].map((n) => instance(NEW, n, T0, { address: `10.88.0.${n + 2}` }));
    const edge = new ScriptedEdge();
    for (const i of host.observed) edge.open.set(i.id, 0);
    let now = T0 + 60_000;
    const c = controller(host, () => now, edge);
    edge.failing = true;
    const [status] = await c.reconcile();
    expect(status!.reasons.at(-1)).toBe('edge: haproxy said no');
    // Long past the minimum, but the drain never reached the edge: still held.
    now += 5000;
    await c.reconcile();
    expect(host.applied.at(-1)).toHaveLength(2);
    // Told now: the drain begins, and the stop goes after the minimum.
    edge.failing = false;
    await c.reconcile();
    expect(host.applied.at(-1)).toHaveLength(2);
    now += 1500;
    await c.reconcile();
    expect(host.applied.at(-1)).toHaveLength(1);
  });
});

describe('the controller judging a release by its answers', () => {
  it('stops a release whose answers fail its analysis, with the figures', async () => {
    const judged = releaseRecord(
      NEW,
      spec({
        replicas: 2,
        service: { port: 8080, listen: '127.0.0.1:18080' },
        analysis: { maxErrorPercent: 1, minRequests: 10 },
        // Not ready for a minute: the rollout stays in progress while it is judged.
        minReadySeconds: 60,
      }),
    );
    await deploy(judged);
    const host = new ScriptedHost();
    host.observed = [0, 1].map((n) =>
      instance(NEW, n, T0, { address: `10.88.0.${n + 2}`, healthyFor: 1000 }),
    );
    const edge = new ScriptedEdge();
    const c = controller(host, () => T0 + 1500, edge);
    await c.reconcile(); // the step's counts begin
    edge.answers = { ok: 16, errors: 4 };
    await c.reconcile(); // 4 of 20 failed
    await c.reconcile(); // judged on them
    const f = await state.fleets.fleet('web');
    // A first deploy has nothing to go back to: it stops, with the reason.
    expect(f?.rollout).toBe('failed');
    expect(f?.reason).toMatch(/^analysis: 20\.0% of 20 requests to the new release failed/);
  });
});

describe('the history of a canary through the edge', () => {
  it("says, when a step's pause ends, what share of requests the new release answered", async () => {
    const service = { port: 8080, listen: '127.0.0.1:18080' };
    const canary = { canary: { steps: [{ instances: 1, pause: '1m' }] } };
    const old = releaseRecord(OLD, spec({ replicas: 4, service, strategy: canary }));
    const next = releaseRecord(NEW, spec({ replicas: 4, service, strategy: canary }));
    await deploy(old);
    const host = new ScriptedHost();
    const edge = new ScriptedEdge();
    let now = T0 + 60_000;
    const c = controller(host, () => now, edge);
    host.observed = [0, 1, 2, 3].map((n) => instance(OLD, n, T0, { address: `10.88.0.${n + 2}` }));
    await c.reconcile(); // the old release completes
    await deploy(next, now);
    host.observed = [
      ...[0, 1, 2].map((n) => instance(OLD, n, T0, { address: `10.88.0.${n + 2}` })),
      instance(NEW, 0, T0, { address: '10.88.0.9' }),
    ];
    await c.reconcile(); // the step is reached; its counts begin
    edge.answers = { ok: 400, errors: 0 };
    now += 30_000;
    await c.reconcile(); // pausing
    now += 31_000;
    await c.reconcile(); // the pause is over
    const lines = (await state.fleets.history({ fleet: 'web', limit: 500, before: null }))
      .reverse()
      .map((h) => h.detail);
    expect(lines.some((l) => /the new release answered 25\.0% of 400 requests/.test(l))).toBe(true);
  });
});

/** The edge as a script: open sessions it reports, and every state it is given. */
class ScriptedEdge implements EdgePort {
  readonly open = new Map<string, number>();
  readonly applied: Edge[] = [];
  failing = false;
  /** What each server answered so far (all alike). */
  answers = { ok: 0, errors: 0 };
  apply(edge: Edge) {
    if (this.failing) return Promise.reject(new Error('haproxy said no'));
    this.applied.push(edge);
    return Promise.resolve();
  }
  counters(): Promise<ServerCounters[]> {
    const servers = this.applied.at(-1)?.fleets.flatMap((f) => f.backends.live) ?? [];
    const open = new Map([...servers.map((s) => [s.instance, 0] as const), ...this.open]);
    return Promise.resolve(
      [...open].map(([server, current]) => ({
        backend: 'be_web',
        server,
        status: 'no check',
        current,
        sessions: 0,
        responses: {
          '1xx': 0,
          '2xx': Math.floor(this.answers.ok / open.size),
          '3xx': 0,
          '4xx': 0,
          '5xx': Math.floor(this.answers.errors / open.size),
          other: 0,
        },
        connectionErrors: 0,
        responseErrors: 0,
        retries: 0,
        redispatches: 0,
      })),
    );
  }
}
