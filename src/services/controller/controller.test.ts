import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteState } from '../../adapters/sqlite/state.js';
import { instance, NEW, releaseRecord, spec, T0 } from '../../core/controller/fixtures.case.js';
import { deployed } from '../../core/fleet/transitions.js';
import type { DesiredInstance, ObservedInstance } from '../../domain/instance.js';
import { changeFleet } from '../fleets/change-fleet.js';
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

const controller = (host: AgentApi, now: () => number) =>
  new Controller({ fleets: state.fleets, agent: host, admitted: () => Promise.resolve(true), now });

describe('the controller', () => {
  it('keeps holding a meltdown after a restart, and records it once', async () => {
    const host = new ScriptedHost();
    host.observed = [0, 1, 2].map((n) => instance(NEW, n, T0, { state: 'failed' }));
    await controller(host, () => T0 + 1000).reconcile();
    const kinds = async () => (await state.fleets.history('web')).map((h) => h.kind);
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
        history: (f) => fleets.history(f),
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
    expect((await fleets.history('web')).map((h) => h.kind)).toEqual(['deploy', 'deploy']);
  });
});
