import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entries } from '../../adapters/sql/ledger.js';
import { openLedgerReader } from '../../adapters/sqlite/ledger-reader.js';
import { SqliteState } from '../../adapters/sqlite/state.js';
import { NEW, OLD, releaseRecord, spec, T0 } from '../../core/controller/fixtures.case.js';
import { deployed, judged } from '../../core/fleet/transitions.js';
import { changeFleet } from './change-fleet.js';
import { promote } from './promote.js';
import { rollBack } from './rollback.js';
import { abortRollout, pauseRollout, resumeRollout } from './rollout-control.js';

let dir: string;
let state: SqliteState;
const canary = spec({ replicas: 4, strategy: { canary: { steps: [{ instances: 1 }] } } });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ingot-fleets-'));
  state = await SqliteState.open(join(dir, 'state.db'));
  // OLD ran and completed; NEW is being rolled out as a canary.
  for (const [release, at] of [
    [releaseRecord(OLD, canary), T0],
    [releaseRecord(NEW, canary), T0 + 10],
  ] as const) {
    await changeFleet(state.fleets, 'web', (f) =>
      Promise.resolve({ change: deployed(f, release, at, 'admin'), release }),
    );
    if (release.digest === OLD)
      await changeFleet(state.fleets, 'web', (f) =>
        Promise.resolve({ change: judged(f!, 'complete', null, T0 + 5)! }),
      );
  }
});

afterEach(async () => {
  await state.close();
  rmSync(dir, { recursive: true, force: true });
});

const ledger = async (kind: string) => {
  const reader = openLedgerReader(join(dir, 'state.db'));
  try {
    return await entries(reader.db, { kind });
  } finally {
    await reader.close();
  }
};

describe('changing a fleet by hand', () => {
  it('promote moves the canary one step and records who did it', async () => {
    const f = await promote(state.fleets, 'web', { full: false, now: T0 + 20 });
    expect(f.step).toBe(1);
    const [entry] = await ledger('promote');
    expect(entry).toMatchObject({
      actor: 'admin',
      fleet: 'web',
      detail: { release: NEW, step: 1 },
    });
    // The last step reached: nothing more to promote.
    await expect(promote(state.fleets, 'web', { full: false, now: T0 + 30 })).rejects.toThrow(
      expect.objectContaining({ code: 'E_PROMOTE_NONE' }) as Error,
    );
  });

  it('rollback goes to the last stable release, keeping the current size and pacing', async () => {
    const f = await rollBack(state.fleets, 'web', { reason: 'by hand', at: T0 + 20 });
    expect(f).toMatchObject({ release: OLD, previous: NEW, rollout: 'rolled-back' });
    expect(f.version).toBe(4); // deploy OLD, complete it, deploy NEW, roll back
    const [entry] = await ledger('rollback');
    expect(entry).toMatchObject({ actor: 'admin', detail: { from: NEW, to: OLD } });
    await expect(rollBack(state.fleets, 'nope', { reason: 'x', at: T0 + 30 })).rejects.toThrow(
      expect.objectContaining({ code: 'E_FLEET_NOT_FOUND' }) as Error,
    );
  });

  it('pause, resume and abort are written with their history line and ledger entry', async () => {
    const who = { actor: 'admin' };
    const p = await pauseRollout(state.fleets, 'web', { ...who, now: T0 + 20 });
    expect(p.pausedAt).toBe(T0 + 20);
    // Kept in the store: read back, still paused.
    expect((await state.fleets.fleet('web'))?.pausedAt).toBe(T0 + 20);
    await expect(pauseRollout(state.fleets, 'web', { ...who, now: T0 + 21 })).rejects.toThrow(
      expect.objectContaining({ code: 'E_PAUSE_NONE' }) as Error,
    );
    expect((await resumeRollout(state.fleets, 'web', { ...who, now: T0 + 30 })).pausedAt).toBe(
      null,
    );
    const a = await abortRollout(state.fleets, 'web', { ...who, now: T0 + 40 });
    expect(a).toMatchObject({ release: OLD, rollout: 'rolled-back' });
    await expect(abortRollout(state.fleets, 'web', { ...who, now: T0 + 50 })).rejects.toThrow(
      expect.objectContaining({ code: 'E_ABORT_NONE' }) as Error,
    );
    for (const kind of ['rollout-paused', 'rollout-resumed', 'rollout-aborted'])
      expect(await ledger(kind), kind).toEqual([
        expect.objectContaining({ actor: 'admin', fleet: 'web' }),
      ]);
    expect(
      (await state.fleets.history({ fleet: 'web', limit: 500, before: null }))
        .reverse()
        .map((h) => h.kind)
        .slice(-3),
    ).toEqual(['pause', 'resume', 'abort']);
  });

  it('a write decided on a stale version is refused, and nothing of it is kept', async () => {
    const fleet = (await state.fleets.fleet('web'))!;
    const change = judged(fleet, 'complete', null, T0 + 20)!;
    expect(await state.fleets.writeFleet(change.next, fleet.version, change.note)).not.toBeNull();
    expect(await state.fleets.writeFleet(change.next, fleet.version, change.note)).toBeNull();
    expect(
      (await state.fleets.history({ fleet: 'web', limit: 500, before: null }))
        .reverse()
        .filter((h) => h.kind === 'complete'),
    ).toHaveLength(
      2, // OLD's completion, and this one once
    );
  });
});
