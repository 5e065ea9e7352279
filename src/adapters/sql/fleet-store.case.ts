import { describe, expect, it } from 'vitest';
import { fleet, NEW, OLD, releaseRecord, spec, T0 } from '../../core/controller/fixtures.case.js';
import { EMPTY_MEMORY } from '../../core/controller/memory.js';
import type { FleetNote, FleetState } from '../../core/fleet/record.js';
import type { Digest } from '../../domain/digest.js';
import { opener, type StateHarness } from './harness.case.js';
import { entries } from './ledger.js';

/** Fleet "web" on its first release (NEW), as a store is asked to write it. */
export const fleetState = (over: Partial<FleetState> = {}): FleetState => {
  const { version: _, ...state } = fleet({ previous: null, stable: null, ...over });
  return state;
};

export const note = (kind: string, over: Partial<FleetNote> = {}): FleetNote => ({
  fleet: 'web',
  time: T0,
  kind,
  summary: `${kind} of web`,
  actor: 'admin',
  subjects: [NEW],
  ...over,
});

/** The FleetStore port on the engine: compare-and-swap writes, releases, history, memories. */
export function fleetStoreContract(h: StateHarness): void {
  const o = opener(h);

  describe('the fleet store', () => {
    it('creates a fleet once, and refuses a write decided on a stale version', async () => {
      const { state, db } = await o.fresh();
      const fleets = state.fleets;
      const created = await fleets.writeFleet(
        fleetState(),
        null,
        note('deploy'),
        releaseRecord(NEW),
      );
      expect(created).toMatchObject({ name: 'web', version: 1, release: NEW });
      expect(await fleets.fleet('web')).toEqual(created);
      // Created by someone else meanwhile: a second create is refused.
      expect(await fleets.writeFleet(fleetState(), null, note('deploy'))).toBeNull();

      // A pause by hand is kept, to the millisecond, and read back as written.
      const held = fleetState({ pausedAt: T0 + 123_456 });
      expect(await fleets.writeFleet(held, 1, note('pause'))).toMatchObject({ version: 2 });
      expect((await fleets.fleet('web'))?.pausedAt).toBe(T0 + 123_456);
      const resumed = fleetState();
      expect(await fleets.writeFleet(resumed, 2, note('resume'))).toMatchObject({ version: 3 });
      expect((await fleets.fleet('web'))?.pausedAt).toBeNull();

      const next = fleetState({ rollout: 'complete', stable: NEW });
      const done = note('complete', { actor: 'controller', detail: { reason: 'all healthy' } });
      expect(await fleets.writeFleet(next, 3, done)).toMatchObject({ version: 4 });
      // Decided on version 3, which is gone: refused, and nothing of it written, its
      // release, history line and ledger entry included.
      const other = releaseRecord(`sha256:${'9'.repeat(64)}` as Digest);
      const stale = fleetState({ rollout: 'rolled-back', release: other.digest });
      expect(await fleets.writeFleet(stale, 3, note('rollback'), other)).toBeNull();
      expect(await fleets.writeFleet(next, 7, note('rollback'))).toBeNull();
      expect(await fleets.release(other.digest)).toBeNull();
      expect(await fleets.fleet('web')).toMatchObject({ version: 4, rollout: 'complete' });
      const kinds = ['deploy', 'pause', 'resume', 'complete'];
      expect(
        (await fleets.history({ limit: 500, before: null })).reverse().map((e) => e.kind),
      ).toEqual(kinds);
      // Who did it, and why when a reason was given, as the ledger has them.
      expect(
        (await fleets.history({ limit: 500, before: null }))
          .reverse()
          .map((e) => [e.actor, e.reason]),
      ).toEqual([
        ['admin', undefined],
        ['admin', undefined],
        ['admin', undefined],
        ['controller', 'all healthy'],
      ]);
      expect((await entries(db)).map((e) => e.kind)).toEqual(kinds);
      expect(await fleets.writeFleet(next, null, note('x'), releaseRecord(NEW))).toBeNull();
      expect(await fleets.fleets()).toHaveLength(1);
    });

    it('lets exactly one of many writes decided on the same version land', async () => {
      const { location, state } = await o.fresh();
      // Two servers where the engine allows it; one connection's queue on SQLite.
      const other = h.parallelWriters ? await o.state(location) : state;
      await state.fleets.writeFleet(fleetState(), null, note('deploy'), releaseRecord(NEW));
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 ? other : state).fleets.writeFleet(
            fleetState({ reason: `writer ${i}` }),
            1,
            note('step', { summary: `writer ${i}` }),
          ),
        ),
      );
      const landed = results.filter((r) => r !== null);
      expect(landed).toHaveLength(1);
      expect(await state.fleets.fleet('web')).toEqual(landed[0]);
      expect(await other.fleets.history({ fleet: 'web', limit: 500, before: null })).toHaveLength(
        2,
      );
    });

    it('records a release once, whichever writes name it', async () => {
      const { state } = await o.fresh();
      const fleets = state.fleets;
      const r = releaseRecord(NEW, spec({ replicas: 3 }));
      await fleets.writeFleet(fleetState(), null, note('deploy'), r);
      // The same digest again, told differently: the first record stays.
      await fleets.writeFleet(fleetState({ step: 1 }), 1, note('step'), {
        ...r,
        createdAt: T0 + 9,
      });
      expect(await fleets.release(NEW)).toEqual({ ...r, number: 1 });
      expect(await fleets.release(OLD)).toBeNull();
    });

    it('keeps the history in order, for every fleet and for one', async () => {
      const { state, db } = await o.fresh();
      const fleets = state.fleets;
      await fleets.writeFleet(fleetState(), null, note('deploy'), releaseRecord(NEW));
      await fleets.note(note('taint', { time: T0 + 1, instance: 'web-1' }));
      await fleets.note(note('meltdown', { fleet: 'api', time: T0 + 2 }));
      await fleets.note(note('taint', { time: T0 + 3, detail: { path: '/etc/passwd' } }));
      const all = (await fleets.history({ limit: 500, before: null })).reverse();
      expect(all.map((e) => [e.fleet, e.kind, e.time])).toEqual([
        ['web', 'deploy', T0],
        ['web', 'taint', T0 + 1],
        ['api', 'meltdown', T0 + 2],
        ['web', 'taint', T0 + 3],
      ]);
      expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => a - b));
      expect(all.every((e) => typeof e.seq === 'number')).toBe(true);
      expect(
        (await fleets.history({ fleet: 'api', limit: 500, before: null }))
          .reverse()
          .map((e) => e.detail),
      ).toEqual(['meltdown of web']);
      // Each note is its ledger entry too, with its evidence.
      const logged = await entries(db, { kind: 'taint' });
      expect(logged.map((e) => e.instance ?? null)).toEqual(['web-1', null]);
      expect(logged[1]!.detail).toEqual({ summary: 'taint of web', path: '/etc/passwd' });
    });

    it('remembers what the controller remembers, replacing it whole', async () => {
      const { state } = await o.fresh();
      const fleets = state.fleets;
      expect(await fleets.memories()).toEqual(new Map());
      const first = { ...EMPTY_MEMORY, failures: [T0], counted: ['web-1'] };
      await fleets.remember('web', first, [note('meltdown')]);
      await fleets.remember('api', EMPTY_MEMORY, []);
      const second = { ...EMPTY_MEMORY, melting: true, taintNoted: ['web-2'] };
      await fleets.remember('web', second, []);
      expect(await fleets.memories()).toEqual(
        new Map([
          ['web', second],
          ['api', EMPTY_MEMORY],
        ]),
      );
      expect(
        (await fleets.history({ limit: 500, before: null })).reverse().map((e) => e.kind),
      ).toEqual(['meltdown']);
    });
  });
}
