import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { NEW, OLD, releaseRecord, spec, T0 } from '../../core/controller/fixtures.case.js';
import type { ReleaseRecord } from '../../core/fleet/record.js';
import type { Digest } from '../../domain/digest.js';
import { fleetState, note } from './fleet-store.case.js';
import { opener, type StateHarness } from './harness.case.js';
import { dialectOf } from './dialect.js';
import { stateMigrations } from './migrations.js';

const digestOf = (c: string) => `sha256:${c.repeat(64)}` as Digest;

/** A fleet's releases: numbered by the store as they are made, read a page at a time. */
export function releasesContract(h: StateHarness): void {
  const o = opener(h);

  describe("a fleet's releases", () => {
    it('are numbered 1, 2, … as they are made, once each, per fleet, whatever their clocks say', async () => {
      const { state } = await o.fresh();
      const fleets = state.fleets;
      const first = { ...releaseRecord(OLD), createdAt: T0 };
      const second = { ...releaseRecord(NEW, spec({ replicas: 3 })), createdAt: T0 + 5 };
      // Made by a server whose clock is behind: still the third, after the others.
      const third = { ...releaseRecord(digestOf('3'), spec({ replicas: 4 })), createdAt: T0 - 60 };
      await fleets.writeFleet(fleetState({ release: OLD }), null, note('deploy'), first);
      await fleets.writeFleet(fleetState(), 1, note('deploy'), second);
      // Back to the first (a rollback names it again): no new release, no new number.
      await fleets.writeFleet(fleetState({ release: OLD }), 2, note('rollback'), {
        ...first,
        createdAt: T0 + 9,
      });
      await fleets.writeFleet(fleetState({ release: third.digest }), 3, note('deploy'), third);
      const api: ReleaseRecord = { ...releaseRecord(digestOf('4')), fleet: 'api' };
      await fleets.writeFleet(
        fleetState({ name: 'api', release: api.digest }),
        null,
        note('deploy', { fleet: 'api' }),
        api,
      );

      const all = await fleets.releases('web', { before: null, limit: 10 });
      expect(all).toEqual([
        { ...third, number: 3 },
        { ...second, number: 2 },
        { ...first, number: 1 },
      ]);
      expect(await fleets.releases('api', { before: null, limit: 10 })).toEqual([
        { ...api, number: 1 },
      ]);
      expect(await fleets.releases('db', { before: null, limit: 10 })).toEqual([]);
      expect(await fleets.release(NEW)).toEqual({ ...second, number: 2 });
    });

    it('are read a page at a time, newest first, below a number', async () => {
      const { state } = await o.fresh();
      const fleets = state.fleets;
      const made = Array.from({ length: 7 }, (_, i) => ({
        ...releaseRecord(digestOf(i.toString(16)), spec({ replicas: i + 1 })),
        createdAt: T0 + i,
      }));
      for (const [i, r] of made.entries())
        await fleets.writeFleet(
          fleetState({ release: r.digest }),
          i === 0 ? null : i,
          note('deploy'),
          r,
        );
      const numbers = async (before: number | null, limit: number) =>
        (await fleets.releases('web', { before, limit })).map((r) => r.number);
      expect(await numbers(null, 3)).toEqual([7, 6, 5]);
      expect(await numbers(5, 3)).toEqual([4, 3, 2]);
      expect(await numbers(2, 3)).toEqual([1]);
      expect(await numbers(1, 3)).toEqual([]);
      // One release and the one before it: what `describe release web@4` reads.
      expect(await numbers(5, 2)).toEqual([4, 3]);
      expect(await numbers(100, 1)).toEqual([7]);
    });

    it('refuses a second release with a number the fleet has given (two writers cannot share one)', async () => {
      const { state, db } = await o.fresh();
      await state.fleets.writeFleet(fleetState(), null, note('deploy'), releaseRecord(NEW));
      const again = sql`insert into releases (digest, fleet, artifact, spec, created_at, number)
        values (${digestOf('9')}, 'web', ${NEW}, '{}', ${T0}, 1)`;
      await expect(again.execute(db)).rejects.toThrow(/unique|UNIQUE/);
      // Another fleet's first is its own number 1.
      await sql`insert into releases (digest, fleet, artifact, spec, created_at, number)
        values (${digestOf('8')}, 'api', ${NEW}, '{}', ${T0}, 1)`.execute(db);
    });

    it('refuses, on PostgreSQL, a release written without a number (by a server of the version before)', async () => {
      const { db } = await o.fresh();
      const unnumbered = sql`insert into releases (digest, fleet, artifact, spec, created_at)
        values (${digestOf('7')}, 'web', ${NEW}, '{}', ${T0})`;
      // SQLite keeps the default its ALTER TABLE needed; it has one writer, of this version.
      if (dialectOf(db).engine === 'postgres')
        await expect(unnumbered.execute(db)).rejects.toThrow(/null/i);
      else await unnumbered.execute(db);
    });

    it('made before numbers were stored are numbered by the migration as the API numbered them', async () => {
      const location = await h.fresh();
      const { db } = o.keep(await h.raw(location));
      // The schema as it was before 009, with releases made by earlier versions.
      const before = new Migrator({
        db,
        provider: { getMigrations: () => Promise.resolve(stateMigrations) },
      });
      const { error } = await before.migrateTo('008-history-actor');
      expect(error).toBeUndefined();
      const rows: [digest: string, fleet: string, createdAt: number][] = [
        [digestOf('c'), 'web', T0 + 50],
        [digestOf('b'), 'web', T0 + 10],
        // Two in one millisecond: by digest, as the list was ordered.
        [digestOf('f'), 'web', T0 + 20],
        [digestOf('e'), 'web', T0 + 20],
        [digestOf('a'), 'api', T0 + 99],
        [digestOf('d'), 'api', T0],
      ];
      for (const [digest, fleet, createdAt] of rows)
        await sql`insert into releases (digest, fleet, artifact, spec, created_at)
          values (${digest}, ${fleet}, ${NEW}, ${JSON.stringify(spec())}, ${createdAt})`.execute(
          db,
        );

      const state = await o.state(location);
      const numbered = async (fleet: string) =>
        (await state.fleets.releases(fleet, { before: null, limit: 10 })).map((r) => [
          r.number,
          r.digest,
        ]);
      expect(await numbered('web')).toEqual([
        [4, digestOf('c')],
        [3, digestOf('f')],
        [2, digestOf('e')],
        [1, digestOf('b')],
      ]);
      expect(await numbered('api')).toEqual([
        [2, digestOf('a')],
        [1, digestOf('d')],
      ]);
      // The next release made is numbered after them.
      await state.fleets.writeFleet(
        fleetState({ name: 'web', release: NEW }),
        null,
        note('deploy'),
        releaseRecord(NEW),
      );
      expect((await state.fleets.release(NEW))?.number).toBe(5);
    });
  });
}
