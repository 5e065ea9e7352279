import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, onBothEngines, serveApi, type ServedApi } from './helpers/state-api.js';
import type { SqlState } from '../src/adapters/sql/state.js';
import { routes } from '../src/core/api/routes.js';
import { releaseRecord, spec, T0 } from '../src/core/controller/fixtures.case.js';
import { fleetState, note } from '../src/adapters/sql/fleet-store.case.js';
import { DEFAULT_RELEASE_PAGE } from '../src/core/fleet/release-page.js';
import type { Digest } from '../src/domain/digest.js';
import { releaseApi } from '../src/services/api/releases.js';

/*
 * GET /v1/fleets/:name/releases (a page, newest first) and GET /v1/fleets/:name/releases/:release
 * (one, with the one before it) on a real listening API, over the state on SQLite and on a
 * real PostgreSQL 15: the same handlers both servers serve (src/bin/server.ts and
 * cluster-server.ts spread fleetApi, which spreads releaseApi).
 */

const TOKEN = 'r'.repeat(64);
const MADE = 120;
const digestOf = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as Digest;

/** The state on an engine with MADE releases of "web" and one of "api", served over HTTP. */
async function serve(state: SqlState): Promise<ServedApi> {
  for (let i = 1; i <= MADE; i++) {
    const r = {
      ...releaseRecord(digestOf(i), spec({ replicas: 1 + (i % 5) })),
      createdAt: T0 + i * 1000,
    };
    await state.fleets.writeFleet(
      fleetState({ release: r.digest }),
      i === 1 ? null : i - 1,
      note('deploy', { summary: r.digest }),
      r,
    );
  }
  const api = { ...releaseRecord(digestOf(9999)), fleet: 'api' };
  await state.fleets.writeFleet(
    fleetState({ name: 'api', release: api.digest }),
    null,
    note('deploy', { fleet: 'api' }),
    api,
  );
  return serveApi(state, releaseApi({ fleets: state.fleets }), TOKEN);
}

/** An answer as the CLI reads it: through the route's own schema. */
const page = (body: unknown) => routes.releases.response.parse(body);
const one = (body: unknown) => routes.release.response.parse(body);
const code = errorCode;
const message = (body: unknown) => (body as { error: { message: string } }).error.message;

function releasesApiContract(engine: string, open: () => Promise<SqlState>): void {
  describe(`the releases API on ${engine}`, () => {
    let api: ServedApi;
    beforeAll(async () => {
      api = await serve(await open());
    }, 120_000);
    afterAll(() => api?.close());

    it('answers the newest page by default, newest first, and says where the next starts', async () => {
      const { status, body } = await api.get('/v1/fleets/web/releases');
      expect(status).toBe(200);
      const p = page(body);
      expect(p.releases.map((r) => r.number)).toEqual(
        Array.from({ length: DEFAULT_RELEASE_PAGE }, (_, i) => MADE - i),
      );
      expect(p.next).toBe(MADE - DEFAULT_RELEASE_PAGE + 1);
      // As made: its digest, its spec, its creation time in RFC 3339.
      expect(p.releases[0]).toMatchObject({
        number: MADE,
        digest: digestOf(MADE),
        fleet: 'web',
        createdAt: new Date(T0 + MADE * 1000).toISOString(),
      });
    });

    it('walks every release once, following next, in pages of the asked size', async () => {
      for (const limit of [7, 100]) {
        const seen: number[] = [];
        let before: number | null = null;
        for (let pages = 0; pages < 100; pages++) {
          const q: string = `?limit=${limit}${before === null ? '' : `&before=${before}`}`;
          const p = page((await api.get(`/v1/fleets/web/releases${q}`)).body);
          expect(p.releases.length).toBeLessThanOrEqual(limit);
          seen.push(...p.releases.map((r) => r.number));
          if (p.next === null) break;
          before = p.next;
        }
        expect(seen).toEqual(Array.from({ length: MADE }, (_, i) => MADE - i));
      }
      // Below the first: nothing, and no next.
      expect(page((await api.get('/v1/fleets/web/releases?before=1')).body)).toEqual({
        releases: [],
        next: null,
      });
      // Another fleet's releases are its own, numbered from 1.
      const other = page((await api.get('/v1/fleets/api/releases')).body);
      expect(other.releases.map((r) => [r.number, r.digest])).toEqual([[1, digestOf(9999)]]);
    });

    it('refuses a bad limit or before with E_REQUEST, and an unknown fleet with E_FLEET_NOT_FOUND', async () => {
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
      ]) {
        const { status, body } = await api.get(`/v1/fleets/web/releases?${q}`);
        expect([q, status, code(body)]).toEqual([q, 400, 'E_REQUEST']);
      }
      const { status, body } = await api.get('/v1/fleets/nope/releases');
      expect([status, code(body)]).toEqual([404, 'E_FLEET_NOT_FOUND']);
      // Admin only, as before.
      expect((await api.get('/v1/fleets/web/releases', 'x'.repeat(64))).status).toBe(401);
    });

    it('answers one release by number or digest, with the release before it', async () => {
      const fifth = one((await api.get('/v1/fleets/web/releases/5')).body);
      expect(fifth.release).toMatchObject({ number: 5, digest: digestOf(5) });
      expect(fifth.previous).toMatchObject({ number: 4, digest: digestOf(4) });
      expect(fifth.release.spec.replicas).toBe(1);
      const first = one((await api.get('/v1/fleets/web/releases/1')).body);
      expect([first.release.number, first.previous]).toEqual([1, null]);
      const byDigest = one(
        (await api.get(`/v1/fleets/web/releases/${encodeURIComponent(digestOf(77))}`)).body,
      );
      expect([byDigest.release.number, byDigest.previous?.number]).toEqual([77, 76]);
      // Not encoded, as a person would type it.
      expect((await api.get(`/v1/fleets/web/releases/${digestOf(1)}`)).status).toBe(200);
    });

    it('refuses a release the fleet does not have, saying which it has', async () => {
      const missing = await api.get(`/v1/fleets/web/releases/${MADE + 1}`);
      expect([missing.status, code(missing.body)]).toEqual([404, 'E_RELEASE_NOT_FOUND']);
      expect(message(missing.body)).toContain(`1–${MADE}`);
      // Another fleet's digest names nothing of this one.
      const other = await api.get(`/v1/fleets/web/releases/${digestOf(9999)}`);
      expect([other.status, code(other.body)]).toEqual([404, 'E_RELEASE_NOT_FOUND']);
      const gone = await api.get('/v1/fleets/nope/releases/1');
      expect([gone.status, code(gone.body)]).toEqual([404, 'E_FLEET_NOT_FOUND']);
      for (const bad of ['0', 'abc', '-3', 'sha256:zz']) {
        const { status, body } = await api.get(`/v1/fleets/web/releases/${bad}`);
        expect([bad, status, code(body)]).toEqual([bad, 400, 'E_REQUEST']);
      }
    });
  });
}

onBothEngines('releases-api', releasesApiContract);
