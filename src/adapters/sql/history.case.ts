import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { NEW, OLD, T0 } from '../../core/controller/fixtures.case.js';
import type { HistoryPageQuery } from '../../core/fleet/history-page.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import { note } from './fleet-store.case.js';
import { opener, type StateHarness } from './harness.case.js';
import { stateMigrations } from './migrations.js';

/** Every page from the newest, following the store's rows as the API's handler does. */
async function walk(
  fleets: FleetStore,
  query: Omit<HistoryPageQuery, 'limit' | 'before'>,
  limit: number,
): Promise<number[][]> {
  const pages: number[][] = [];
  for (let before: number | null = null; ;) {
    const rows = await fleets.history({ ...query, before, limit: limit + 1 });
    const items = rows.slice(0, limit).map((r) => r.seq);
    pages.push(items);
    if (rows.length <= limit) return pages;
    before = items.at(-1)!;
  }
}

/** The fleets' history: read a page at a time, by fleet, and by what a line names. */
export function historyContract(h: StateHarness): void {
  const o = opener(h);

  describe("the fleets' history", () => {
    it('is read a page at a time, newest first, below a seq, of one fleet or all', async () => {
      const { state } = await o.fresh();
      const fleets = state.fleets;
      // 23 lines, web and api interleaved: every third is api's.
      for (let i = 0; i < 23; i++)
        await fleets.note(
          note('step', { fleet: i % 3 === 0 ? 'api' : 'web', time: T0 + i, summary: `line ${i}` }),
        );
      const all = (await fleets.history({ limit: 100, before: null })).map((e) => e.seq);
      expect(all).toHaveLength(23);
      expect(all).toEqual([...all].sort((a, b) => b - a));
      // The newest first, then each page older than the last, and nothing twice.
      expect((await walk(fleets, {}, 5)).flat()).toEqual(all);
      expect((await walk(fleets, {}, 5)).map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
      const web = await walk(fleets, { fleet: 'web' }, 4);
      const webLines = await fleets.history({ fleet: 'web', limit: 100, before: null });
      expect(web.flat()).toEqual(webLines.map((e) => e.seq));
      expect(webLines.every((e) => e.fleet === 'web')).toBe(true);
      expect(webLines).toHaveLength(15);
      expect(webLines[0]).toMatchObject({ fleet: 'web', detail: 'line 22', kind: 'step' });
      // Below a seq: only older lines, and `limit` of them.
      const below = await fleets.history({ fleet: 'api', limit: 2, before: all[3]! });
      expect(below.map((e) => e.detail)).toEqual(
        (await fleets.history({ fleet: 'api', limit: 100, before: null }))
          .filter((e) => e.seq < all[3]!)
          .slice(0, 2)
          .map((e) => e.detail),
      );
      expect(await fleets.history({ fleet: 'db', limit: 10, before: null })).toEqual([]);
    });

    it('reads the lines that name a release or an instance, of that fleet only', async () => {
      const { state } = await o.fresh();
      const fleets = state.fleets;
      await fleets.note(note('deploy', { subjects: [OLD], summary: 'old' }));
      await fleets.note(note('step', { subjects: [NEW], summary: 'new 1' }));
      await fleets.note(note('taint', { subjects: [OLD], instance: 'web-3', summary: 'web-3' }));
      await fleets.note(note('rollback', { subjects: [NEW, OLD], summary: 'back' }));
      // Another fleet's line naming the same digest (an artifact two fleets share).
      await fleets.note(note('deploy', { fleet: 'api', subjects: [NEW], summary: 'api' }));
      await fleets.note(note('complete', { subjects: [NEW], summary: 'new 2' }));
      await fleets.note(note('meltdown', { subjects: [], summary: 'none' }));
      const named = async (subject: string, limit = 10, before: number | null = null) =>
        (await fleets.history({ fleet: 'web', subject, limit, before })).map((e) => e.detail);
      expect(await named(NEW)).toEqual(['new 2', 'back', 'new 1']);
      expect(await named(OLD)).toEqual(['back', 'web-3', 'old']);
      expect(await named('web-3')).toEqual(['web-3']);
      expect(await named('web-4')).toEqual([]);
      // Paged as the rest: newest first, below a seq.
      const [newest] = await fleets.history({ fleet: 'web', subject: NEW, limit: 1, before: null });
      expect(await named(NEW, 1)).toEqual(['new 2']);
      expect(await named(NEW, 5, newest!.seq)).toEqual(['back', 'new 1']);
      // Every field of the line, as the fleet's pages give it.
      const [line] = await fleets.history({
        fleet: 'web',
        subject: 'web-3',
        limit: 1,
        before: null,
      });
      const same = await fleets.history({ fleet: 'web', limit: 1, before: line!.seq + 1 });
      expect(line).toEqual(same[0]);
      expect(
        (await fleets.history({ fleet: 'api', subject: NEW, limit: 9, before: null })).map(
          (e) => e.detail,
        ),
      ).toEqual(['api']);
    });

    it('names, for lines written before subjects were kept, the digests their text says', async () => {
      const location = await h.fresh();
      const { db } = o.keep(await h.raw(location));
      const before = new Migrator({
        db,
        provider: { getMigrations: () => Promise.resolve(stateMigrations) },
      });
      const { error } = await before.migrateTo('009-release-number');
      expect(error).toBeUndefined();
      // More lines than one batch of the migration: the walk by seq must not skip any.
      const lines: [fleet: string, kind: string, detail: string][] = [
        ['web', 'deploy', OLD],
        ...Array.from({ length: 1500 }, (): [string, string, string] => [
          'web',
          'step',
          'canary 10%',
        ]),
        ['web', 'deploy', NEW],
        ['api', 'deploy', NEW],
        ['web', 'rollback', `${NEW} → ${OLD}: health failed`],
      ];
      // One statement, in the order given (seq follows it).
      await sql`insert into history (time, fleet, kind, detail) values ${sql.join(
        lines.map(([fleet, kind, detail]) => sql`(${T0}, ${fleet}, ${kind}, ${detail})`),
      )}`.execute(db);
      const state = await o.state(location);
      const named = async (subject: string, fleet = 'web') =>
        (await state.fleets.history({ fleet, subject, limit: 10, before: null })).map(
          (e) => e.kind,
        );
      expect(await named(NEW)).toEqual(['rollback', 'deploy']);
      expect(await named(OLD)).toEqual(['rollback', 'deploy']);
      expect(await named(NEW, 'api')).toEqual(['deploy']);
      // And a line written now names its subjects as it is written.
      await state.fleets.note(note('complete', { subjects: [OLD] }));
      expect(await named(OLD)).toEqual(['complete', 'rollback', 'deploy']);
    });
  });
}
