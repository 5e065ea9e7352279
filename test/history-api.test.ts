import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../src/adapters/http/api.js';
import { PostgresState } from '../src/adapters/postgres/state.js';
import { note } from '../src/adapters/sql/fleet-store.case.js';
import type { SqlState } from '../src/adapters/sql/state.js';
import { SqliteState } from '../src/adapters/sqlite/state.js';
import { routes, type ApiHandlers } from '../src/core/api/routes.js';
import { T0 } from '../src/core/controller/fixtures.case.js';
import { DEFAULT_HISTORY_PAGE } from '../src/core/fleet/history-page.js';
import type { Digest } from '../src/domain/digest.js';
import { fleetApi, type FleetApiDeps } from '../src/services/api/fleets.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';

/*
 * GET /v1/history (a page, newest first, of every fleet or one, or of the lines that name a
 * subject) on a real listening API, over the state on SQLite and on a real PostgreSQL 15: the
 * handler both servers serve (src/bin/server.ts and cluster-server.ts spread fleetApi).
 */

const TOKEN = 'h'.repeat(64);
/** Lines of "web"; every fourth is "api"'s, in between. */
const LINES = 160;
const release = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as Digest;

interface Served {
  readonly get: (path: string, token?: string) => Promise<{ status: number; body: unknown }>;
}

/**
 * The state on an engine with LINES lines: web's name release (i mod 7) and instance web-(i mod
 * 3); api's name release 9999. The seqs are the database's.
 */
async function serve(state: SqlState): Promise<Served & { close(): Promise<void> }> {
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
  const app = buildApi(
    TOKEN,
    { history } as ApiHandlers,
    () => Promise.resolve({ contentType: 'text/plain', body: '' }),
    pino({ level: 'silent' }),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    get: async (path, token = TOKEN) => {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: await res.json() };
    },
    close: async () => {
      await app.close();
      await state.close();
    },
  };
}

/** An answer as the CLI reads it: through the route's own schema. */
const page = (body: unknown) => routes.history.response.parse(body);
const code = (body: unknown) => (body as { error: { code: string } }).error.code;
/** Line i's text, from "line i". */
const index = (e: { detail: string }) => Number(e.detail.slice(5));

/** Every line the query asks, page by page from the newest, following `next`. */
async function walk(api: Served, query: string, limit: number): Promise<number[]> {
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
    let api: Served & { close(): Promise<void> };
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

const root = mkdtempSync(join(tmpdir(), 'ingot-history-api-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
historyApiContract('SQLite', () => SqliteState.open(join(root, 'state.db')));

let postgres: TestPostgres | undefined;
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(() => postgres?.stop());
historyApiContract('PostgreSQL 15', async () =>
  PostgresState.open(await postgres!.createDatabase(), { poolSize: 4 }),
);
