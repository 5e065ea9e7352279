import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, onBothEngines, serveApi, type ServedApi } from './helpers/state-api.js';
import { note } from '../src/adapters/sql/fleet-store.case.js';
import type { SqlState } from '../src/adapters/sql/state.js';
import { routes } from '../src/core/api/routes.js';
import { T0 } from '../src/core/controller/fixtures.case.js';
import { DEFAULT_HISTORY_PAGE } from '../src/core/fleet/history-page.js';
import type { Digest } from '../src/domain/digest.js';
import { fleetApi, type FleetApiDeps } from '../src/services/api/fleets.js';

/*
 * GET /v1/history (a page, newest first, of every fleet or one, or of the lines that name a
 * subject) on a real listening API, over the state on SQLite and on a real PostgreSQL 15: the
 * handler both servers serve (src/bin/server.ts and cluster-server.ts spread fleetApi).
 */

const TOKEN = 'h'.repeat(64);
/** Lines of "web"; every fourth is "api"'s, in between. */
const LINES = 160;
const release = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as Digest;

/**
 * The state on an engine with LINES lines: web's name release (i mod 7) and instance web-(i mod
 * 3); api's name release 9999. The seqs are the database's.
 */
async function serve(state: SqlState): Promise<ServedApi> {
  for (let i = 0; i < LINES; i++) {
    const api = i % 4 === 3;
    await state.fleets.note(
      note('step', {
        fleet: api ? 'api' : 'web',
        time: T0 + i * 1000,
        summary: `line ${i}`,
        subjects: [release(api ? 9999 : i % 7)],
        ...(!api && { instance: `web-${i % 3}` }),
      }),
    );
  }
  // Only the history's route is called: the other handlers' dependencies are never reached.
  const { history } = fleetApi({ fleets: state.fleets } as unknown as FleetApiDeps);
  return serveApi(state, { history }, TOKEN);
}

/** An answer as the CLI reads it: through the route's own schema. */
const page = (body: unknown) => routes.history.response.parse(body);
const code = errorCode;
/** Line i's text, from "line i". */
const index = (e: { detail: string }) => Number(e.detail.slice(5));

/** Every line the query asks, page by page from the newest, following `next`. */
async function walk(api: ServedApi, query: string, limit: number): Promise<number[]> {
  const seen: number[] = [];
  let before: number | null = null;
  for (let pages = 0; pages < 200; pages++) {
    const q: string = `?limit=${limit}${query}${before === null ? '' : `&before=${before}`}`;
    const p = page((await api.get(`/v1/history${q}`)).body);
    expect(p.history.length).toBeLessThanOrEqual(limit);
    seen.push(...p.history.map(index));
    if (p.next === null) return seen;
    expect(p.next).toBe(p.history.at(-1)!.seq);
    before = p.next;
  }
  throw new Error('the walk did not end');
}

const newestFirst = (keep: (i: number) => boolean) =>
  Array.from({ length: LINES }, (_, i) => LINES - 1 - i).filter(keep);
const isApi = (i: number) => i % 4 === 3;

function historyApiContract(engine: string, open: () => Promise<SqlState>): void {
  describe(`the history API on ${engine}`, () => {
    let api: ServedApi;
    beforeAll(async () => {
      api = await serve(await open());
    }, 120_000);
    afterAll(() => api?.close());

    it('answers the newest page by default, newest first, and says where the next starts', async () => {
      const { status, body } = await api.get('/v1/history');
      expect(status).toBe(200);
      const p = page(body);
      expect(p.history.map(index)).toEqual(newestFirst(() => true).slice(0, DEFAULT_HISTORY_PAGE));
      expect(p.next).toBe(p.history.at(-1)!.seq);
      // Line 159, api's: every fourth from the fourth.
      expect(p.history[0]).toMatchObject({
        fleet: 'api',
        kind: 'step',
        actor: 'admin',
        time: new Date(T0 + (LINES - 1) * 1000).toISOString(),
      });
      const web = page((await api.get('/v1/history?fleet=web&limit=3')).body);
      expect(web.history.map(index)).toEqual(newestFirst((i) => !isApi(i)).slice(0, 3));
    });

    it('walks every line once, following next, of all fleets, one, or one subject', async () => {
      for (const limit of [7, 500]) {
        expect(await walk(api, '', limit)).toEqual(newestFirst(() => true));
        expect(await walk(api, '&fleet=api', limit)).toEqual(newestFirst(isApi));
        expect(await walk(api, `&fleet=web&subject=${release(3)}`, limit)).toEqual(
          newestFirst((i) => !isApi(i) && i % 7 === 3),
        );
        expect(await walk(api, '&fleet=web&subject=web-2', limit)).toEqual(
          newestFirst((i) => !isApi(i) && i % 3 === 2),
        );
      }
      // A subject of another fleet names nothing of this one; an unknown fleet has no lines.
      for (const q of [`fleet=web&subject=${release(9999)}`, 'fleet=nope', 'before=1'])
        expect([q, page((await api.get(`/v1/history?${q}`)).body)]).toEqual([
          q,
          { history: [], next: null },
        ]);
    });

    it('refuses a bad limit, before or subject, a repeated parameter, a subject alone, with E_REQUEST', async () => {
      for (const q of [
        'limit=0',
        'limit=501',
        'limit=-1',
        'limit=abc',
        'limit=1.5',
        'limit=01',
        'limit=1&limit=2',
        'before=0',
        'before=x',
        'before=',
        'before=9999999999999999',
        'fleet=web&fleet=api',
        'subject=web-1',
        'fleet=web&subject=Web',
        'fleet=web&subject=sha256:00',
        `fleet=web&subject=${'a'.repeat(200)}`,
        'fleet=web&subject=web-1&subject=web-2',
      ]) {
        const { status, body } = await api.get(`/v1/history?${q}`);
        expect([q, status, code(body)]).toEqual([q, 400, 'E_REQUEST']);
      }
      // Admin only, as before.
      expect((await api.get('/v1/history', 'x'.repeat(64))).status).toBe(401);
    });
  });
}

onBothEngines('history-api', historyApiContract);
