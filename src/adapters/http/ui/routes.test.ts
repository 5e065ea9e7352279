import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetView } from '../../../core/api/fleets.js';
import type { ApiHandlers } from '../../../core/api/routes.js';
import { parseFleet } from '../../../core/fleet/spec.js';
import { UI_SESSION_LIMITS } from '../../../core/ui/sessions.js';
import { IngotError } from '../../../domain/errors.js';
import { buildApi } from '../api.js';
import { loadUiAssets } from './assets.js';
import { MAX_STREAMS } from './stream.js';

/*
 * The dashboard's routes on a real listening API: sign-in to a cookie, the cookie for reads,
 * the CSRF header for actions, the read-only role, the stream, and the bearer API unchanged.
 */

const ADMIN = 'a'.repeat(64);
const READ_ONLY = 'b'.repeat(64);
const dir = mkdtempSync(join(tmpdir(), 'ingot-ui-routes-'));
mkdirSync(join(dir, 'assets'));
writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
writeFileSync(join(dir, 'assets', 'main-ABC.js'), 'console.log(1)');
writeFileSync(join(dir, 'assets', 'main-ABC.js.map'), '{}');

const R1 = `sha256:${'1'.repeat(64)}` as FleetView['release'];
const spec = parseFleet(
  'name: web\nartifact: hello:1.0.0\nreplicas: 4\nenv: { X: "<script>x</script>" }\nstrategy: { canary: { steps: [{ instances: 1 }] } }\n',
  'fleet.yaml',
);
let greeting = 'one';
const promoted: { name: string; credential: string }[] = [];
const fleet = (): FleetView => ({
  name: 'web',
  spec: { ...spec, env: { X: greeting } },
  release: R1,
  artifact: R1,
  previous: null,
  rollout: 'complete',
  rolloutStartedAt: '1970-01-01T00:00:00.000Z',
  reason: null,
  stable: R1,
  step: 0,
  stepStartedAt: '1970-01-01T00:00:00.000Z',
  stepReadyAt: null,
  pausedAt: null,
  version: 1,
  phase: 'all instances',
  awaitingPromotion: false,
  reasons: [],
  instances: [],
});
const handlers: Pick<ApiHandlers, 'fleets' | 'promote'> = {
  fleets: () => Promise.resolve([fleet()]),
  promote: ({ params, caller }) => {
    if (params.name !== 'web') throw new IngotError('E_FLEET_NOT_FOUND', 'no fleet');
    promoted.push({ name: params.name, credential: caller().credential });
    return Promise.resolve(fleet());
  },
};
const api = buildApi(
  ADMIN,
  handlers as ApiHandlers,
  () => Promise.resolve({ contentType: 'text/plain', body: '' }),
  pino({ level: 'silent' }),
  undefined,
  undefined,
  undefined,
  'test',
  {
    assets: loadUiAssets(dir),
    readOnlyToken: READ_ONLY,
    pollMs: 50,
    heartbeatMs: 100,
    // These tests sign in dozens of times from one address: the limit has its own test below.
    signInLimits: {
      perPeer: { burst: 1000, perMinute: 60 },
      global: { burst: 1000, perMinute: 60 },
      maxPeers: 10,
    },
  },
);
let base = '';

beforeAll(async () => {
  await api.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

const codeOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string } }).error.code;
async function signIn(token: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await fetch(`${base}/ui/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const { csrf } = (await res.json()) as { csrf: string };
  return { cookie: setCookie.split(';')[0] ?? '', csrf, setCookie };
}
async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i += 1) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('not within a second');
}
const promote = (headers: Record<string, string>) =>
  fetch(`${base}/ui/api/fleets/web/promote`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{}',
  });

describe('the dashboard routes', () => {
  it('serve the page with a strict policy, and hashed assets as immutable (no source maps)', async () => {
    const page = await fetch(`${base}/ui`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const js = await fetch(`${base}/ui/assets/main-ABC.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await js.text()).toBe('console.log(1)');
    expect((await fetch(`${base}/ui/assets/main-ABC.js.map`)).status).toBe(404);
    expect((await fetch(`${base}/ui/assets/..%2Findex.html`)).status).toBe(404);
  });

  it('answer 401 without the cookie, and refuse a token that is neither', async () => {
    for (const path of ['/ui/session', '/ui/api/fleets', '/ui/events']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(401);
      expect(await codeOf(res)).toBe('E_UI_SESSION');
    }
    const forged = await fetch(`${base}/ui/api/fleets`, {
      headers: { cookie: `ingot_ui=${'x'.repeat(43)}` },
    });
    expect(forged.status).toBe(401);
    const wrong = await fetch(`${base}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'c'.repeat(64) }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    // A cross-site form can only send a "simple" body: that is no sign-in.
    const form = await fetch(`${base}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ token: ADMIN }),
    });
    expect(form.status).toBe(415);
  });

  it('sign in to an HttpOnly, SameSite=Strict cookie that holds no token', async () => {
    const { setCookie, cookie, csrf } = await signIn(ADMIN);
    expect(setCookie).toMatch(
      /^ingot_ui=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/,
    );
    expect(setCookie).not.toContain(ADMIN);
    const session = await fetch(`${base}/ui/session`, { headers: { cookie } });
    expect(await session.json()).toEqual({ role: 'admin', csrf });
    const fleets = (await (
      await fetch(`${base}/ui/api/fleets`, { headers: { cookie } })
    ).json()) as {
      name: string;
      promotable: boolean;
      weights: unknown[];
    }[];
    expect(fleets.map((f) => f.name)).toEqual(['web']);
    expect(fleets[0]?.promotable).toBe(false);
    expect(fleets[0]?.weights).toEqual([{ release: R1, count: 4, percent: 100 }]);
  });

  it('leave the bearer-token API as it was: the cookie does not open it', async () => {
    const { cookie } = await signIn(ADMIN);
    expect((await fetch(`${base}/v1/fleets`, { headers: { cookie } })).status).toBe(401);
    const bearer = await fetch(`${base}/v1/fleets`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(bearer.status).toBe(200);
    const readOnlyBearer = await fetch(`${base}/v1/fleets`, {
      headers: { authorization: `Bearer ${READ_ONLY}` },
    });
    expect(readOnlyBearer.status).toBe(401);
  });

  it('refuse an action without the CSRF header, or with another session’s', async () => {
    const a = await signIn(ADMIN);
    const b = await signIn(ADMIN);
    const before = promoted.length;
    let res = await promote({ cookie: a.cookie });
    expect(res.status).toBe(403);
    expect(await codeOf(res)).toBe('E_UI_CSRF');
    res = await promote({ cookie: a.cookie, 'x-ingot-csrf': b.csrf });
    expect(res.status).toBe(403);
    res = await promote({ 'x-ingot-csrf': a.csrf });
    expect(res.status).toBe(401);
    expect(promoted.length).toBe(before);
    res = await promote({ cookie: a.cookie, 'x-ingot-csrf': a.csrf });
    expect(res.status).toBe(200);
    expect(promoted.at(-1)).toEqual({ name: 'web', credential: 'dashboard session (admin token)' });
  });

  it('let the read-only token look but not act', async () => {
    const { cookie, csrf } = await signIn(READ_ONLY);
    const seen = await fetch(`${base}/ui/api/fleets`, { headers: { cookie } });
    expect(seen.status).toBe(200);
    // Env names only: values may be secrets, and this token is handed to watchers.
    const [shown] = (await seen.json()) as { spec: { env: Record<string, string> } }[];
    expect(shown!.spec.env).toEqual({ X: '(hidden)' });
    const before = promoted.length;
    const res = await promote({ cookie, 'x-ingot-csrf': csrf });
    expect(res.status).toBe(403);
    expect(await codeOf(res)).toBe('E_UI_READ_ONLY');
    expect(promoted.length).toBe(before);
  });

  it('end a session on sign-out (with its CSRF header)', async () => {
    const { cookie, csrf } = await signIn(ADMIN);
    const out = await fetch(`${base}/ui/session/end`, {
      method: 'POST',
      headers: { cookie, 'x-ingot-csrf': csrf, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(out.status).toBe(200);
    expect((await fetch(`${base}/ui/session`, { headers: { cookie } })).status).toBe(401);
  });

  it('stream the fleets when they change, and bound the streams of a session', async () => {
    const { cookie } = await signIn(ADMIN);
    const open = () => fetch(`${base}/ui/events`, { headers: { cookie } });
    const first = await open();
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (first.body as ReadableStream<Uint8Array>).getReader();
    const events: string[] = [];
    let buffer = '';
    const next = async (pattern: RegExp) => {
      for (;;) {
        const hit = events.find((e) => pattern.test(e));
        if (hit) return hit;
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += new TextDecoder().decode(value);
        const parts = buffer.split('\n\n');
        buffer = parts.pop() ?? '';
        events.push(...parts);
      }
    };
    expect(await next(/^event: fleets\ndata: .*"X":"one"/)).toBeTruthy();
    greeting = '<img src=x onerror=alert(1)>';
    expect(await next(/"X":"<img src=x onerror=alert\(1\)>"/)).toBeTruthy();
    const more: Response[] = [];
    for (let i = 1; i <= UI_SESSION_LIMITS.streamsPerSession; i += 1) more.push(await open());
    expect(more.map((r) => r.status)).toEqual([
      ...Array<number>(UI_SESSION_LIMITS.streamsPerSession - 1).fill(200),
      429,
    ]);
    // A closed stream gives its slot back. One stays open: the server's close must end it
    // (afterAll would time out otherwise).
    await reader.cancel();
    await waitUntil(async () => {
      const again = await open();
      if (again.status === 200) more.push(again);
      return again.status === 200;
    });
    for (const r of more.slice(1)) await r.body?.cancel();
  });

  it('bound the streams of the whole server, far under its connections, whatever the sessions', async () => {
    const held: Response[] = [];
    let refused: Response | null = null;
    for (let s = 0; refused === null && s < MAX_STREAMS; s += 1) {
      const { cookie } = await signIn(READ_ONLY);
      for (let i = 0; i < UI_SESSION_LIMITS.streamsPerSession; i += 1) {
        const r = await fetch(`${base}/ui/events`, { headers: { cookie } });
        if (r.status !== 200) {
          refused = r;
          break;
        }
        held.push(r);
      }
    }
    // The test before leaves one stream open: the server's cap counts it too.
    expect(held.length).toBeGreaterThanOrEqual(MAX_STREAMS - 1);
    expect(held.length).toBeLessThanOrEqual(MAX_STREAMS);
    // No session reached its own bound (4): this is the server's.
    expect(refused?.status).toBe(429);
    const body = (await refused!.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('E_UI_STREAMS');
    expect(body.error.message).toMatch(/server/);
    for (const r of held) await r.body?.cancel();
  });
});

describe('the dashboard sign-in limit', () => {
  it('answers 429 with Retry-After and its own code once an address tried too often', async () => {
    const limited = buildApi(
      ADMIN,
      handlers as ApiHandlers,
      () => Promise.resolve({ contentType: 'text/plain', body: '' }),
      pino({ level: 'silent' }),
      undefined,
      undefined,
      undefined,
      'test',
      {
        assets: loadUiAssets(dir),
        signInLimits: {
          perPeer: { burst: 3, perMinute: 2 },
          global: { burst: 100, perMinute: 60 },
          maxPeers: 10,
        },
      },
    );
    await limited.listen({ host: '127.0.0.1', port: 0 });
    try {
      const at = `http://127.0.0.1:${(limited.server.address() as AddressInfo).port}/ui/session`;
      const attempt = (token: string) =>
        fetch(at, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token }),
        });
      // Wrong tokens and right ones count alike: the limit is on trying.
      expect((await attempt('wrong')).status).toBe(401);
      expect((await attempt('wrong')).status).toBe(401);
      expect((await attempt(ADMIN)).status).toBe(200);
      for (const token of ['wrong', ADMIN]) {
        const refused = await attempt(token);
        expect(refused.status).toBe(429);
        // 30 s per attempt given back, less what passed since the first (a loaded machine).
        const wait = Number(refused.headers.get('retry-after'));
        expect(wait).toBeGreaterThanOrEqual(1);
        expect(wait).toBeLessThanOrEqual(30);
        expect(refused.headers.get('set-cookie')).toBeNull();
        expect(await codeOf(refused)).toBe('E_UI_SIGN_IN_LIMIT');
      }
    } finally {
      await limited.close();
    }
  });
});
