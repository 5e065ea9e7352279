import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetView } from '../../../core/api/fleets.js';
import type { ApiHandlers } from '../../../core/api/routes.js';
import { parseFleet } from '../../../core/fleet/spec.js';
import { MAX_HISTORY } from '../../../core/ui/release-view.js';
import type { Digest } from '../../../domain/digest.js';
import { buildApi } from '../api.js';

/*
 * The fleet-operations routes on a real listening API: the actions reach the API's own
 * handlers (admin, CSRF), the read-only role is refused actions and log tails, and the
 * releases, drift and log answers are what the views show.
 */

const ADMIN = 'a'.repeat(64);
const READ_ONLY = 'b'.repeat(64);
const R1 = `sha256:${'1'.repeat(64)}` as Digest;
const R2 = `sha256:${'2'.repeat(64)}` as Digest;
const spec = (env: Record<string, string>) => ({
  ...parseFleet('name: web\nartifact: hello:1.0.0\nreplicas: 1\n', 'fleet.yaml'),
  env,
});
const view: FleetView = {
  name: 'web',
  spec: spec({}),
  release: R2,
  artifact: R2,
  previous: R1,
  rollout: 'complete',
  rolloutStartedAt: '1970-01-01T00:00:00.000Z',
  reason: null,
  stable: R2,
  step: 0,
  stepStartedAt: '1970-01-01T00:00:00.000Z',
  stepReadyAt: null,
  pausedAt: null,
  version: 1,
  phase: 'all instances',
  awaitingPromotion: false,
  reasons: [],
  instances: [{ id: 'web-1', fleet: 'web', artifact: R2, state: 'healthy', integrity: 'verified' }],
};
const acted: string[] = [];
const action =
  (name: string) =>
  ({
    params,
    query,
    caller,
  }: {
    params: { name: string };
    query: { reason?: string };
    caller: () => { credential: string };
  }) => {
    acted.push(
      `${name} ${params.name} by ${caller().credential}${query.reason ? ` because ${query.reason}` : ''}`,
    );
    return Promise.resolve(view);
  };
const historyAsked: unknown[] = [];
const handlers = {
  fleets: () => Promise.resolve([view]),
  promote: action('promote'),
  pause: action('pause'),
  resume: action('resume'),
  abort: action('abort'),
  rollback: action('rollback'),
  // One page, newest first, as the API answers: the view asks for its size and no more.
  history: ({ query }: { query: unknown }) => {
    historyAsked.push(query);
    return Promise.resolve({
      history: [
        {
          seq: 2,
          time: '1970-01-01T00:00:00.001Z',
          fleet: 'web',
          kind: 'deploy',
          detail: R2,
          actor: 'admin',
        },
        {
          seq: 1,
          time: '1970-01-01T00:00:00.000Z',
          fleet: 'web',
          kind: 'deploy',
          detail: R1,
          actor: 'admin',
        },
      ],
      next: null,
    });
  },
  logs: ({ params }: { params: { id: string } }) =>
    Promise.resolve({ id: params.id, text: 'one\n<b>two</b>\n', start: 0, size: 14 }),
};
const record = (digest: Digest, env: Record<string, string>) => ({
  digest,
  fleet: 'web',
  artifact: digest,
  spec: spec(env),
  createdAt: 0,
  number: digest === R1 ? 1 : 2,
});
const api = buildApi(
  ADMIN,
  handlers as unknown as ApiHandlers,
  () => Promise.resolve({ contentType: 'text/plain', body: '' }),
  pino({ level: 'silent' }),
  undefined,
  undefined,
  undefined,
  'test',
  {
    assets: null,
    readOnlyToken: READ_ONLY,
    records: {
      release: (d) =>
        Promise.resolve(
          d === R1
            ? record(R1, { SECRET: 'hunter2' })
            : d === R2
              ? record(R2, { SECRET: 'swordfish' })
              : null,
        ),
      entries: (q) =>
        Promise.resolve(
          q.kind === 'drift'
            ? [
                {
                  seq: 5,
                  time: 0,
                  actor: 'agent',
                  kind: 'drift',
                  subjects: [],
                  fleet: 'web',
                  instance: 'web-0',
                  detail: {
                    release: R2,
                    evidence: [{ detector: 'files', path: '/x', expected: 'a', actual: 'b' }],
                  },
                },
              ]
            : q.kind === 'instance-started'
              ? [
                  {
                    seq: 6,
                    time: 0,
                    actor: 'agent',
                    kind: 'instance-started',
                    subjects: [],
                    fleet: 'web',
                    instance: 'web-1',
                    detail: { release: R2 },
                  },
                ]
              : [],
        ),
    },
  },
);
let base = '';
beforeAll(async () => {
  await api.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
});
afterAll(() => api.close());

async function signIn(token: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${base}/ui/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  const { csrf } = (await res.json()) as { csrf: string };
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf };
}
const post = (path: string, headers: Record<string, string>, body: unknown = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const codeOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string } }).error.code;

describe('the fleet-operations routes', () => {
  it('act through the API handlers for the admin, with the CSRF header only', async () => {
    const { cookie, csrf } = await signIn(ADMIN);
    for (const a of ['pause', 'resume', 'abort', 'rollback']) {
      const bare = await post(`/ui/api/fleets/web/${a}`, { cookie });
      expect([bare.status, await codeOf(bare)]).toEqual([403, 'E_UI_CSRF']);
      const res = await post(`/ui/api/fleets/web/${a}`, { cookie, 'x-ingot-csrf': csrf });
      expect(res.status, a).toBe(200);
    }
    expect(acted).toEqual([
      'pause web by dashboard session (admin token)',
      'resume web by dashboard session (admin token)',
      'abort web by dashboard session (admin token)',
      'rollback web by dashboard session (admin token)',
    ]);
    expect((await post('/ui/api/fleets/web/pause', {})).status).toBe(401);
  });

  it("hand the dialog's reason to the API as --reason does, and refuse one with control characters", async () => {
    acted.length = 0;
    const { cookie, csrf } = await signIn(ADMIN);
    const headers = { cookie, 'x-ingot-csrf': csrf };
    expect((await post('/ui/api/fleets/web/pause', headers, { reason: 'lunch' })).status).toBe(200);
    expect(
      (await post('/ui/api/fleets/web/promote', headers, { reason: 'looks good' })).status,
    ).toBe(200);
    for (const reason of ['\u001b[2J', 'x'.repeat(301), 42]) {
      const res = await post('/ui/api/fleets/web/abort', headers, { reason });
      expect([res.status, await codeOf(res)]).toEqual([400, 'E_REQUEST']);
    }
    expect(acted).toEqual([
      'pause web by dashboard session (admin token) because lunch',
      'promote web by dashboard session (admin token) because looks good',
    ]);
  });

  it('refuse the read-only role every action and the log tails', async () => {
    acted.length = 0;
    const { cookie, csrf } = await signIn(READ_ONLY);
    for (const a of ['pause', 'resume', 'abort', 'rollback']) {
      const res = await post(`/ui/api/fleets/web/${a}`, { cookie, 'x-ingot-csrf': csrf });
      expect([res.status, await codeOf(res)]).toEqual([403, 'E_UI_READ_ONLY']);
    }
    expect(acted).toEqual([]);
    const logs = await fetch(`${base}/ui/api/fleets/web/instances/web-1/logs`, {
      headers: { cookie },
    });
    expect([logs.status, await codeOf(logs)]).toEqual([403, 'E_UI_READ_ONLY']);
    // What it may read: releases (env names only) and drift.
    const rel = await fetch(`${base}/ui/api/fleets/web/releases`, { headers: { cookie } });
    const text = await rel.text();
    expect(rel.status).toBe(200);
    expect(text).not.toMatch(/hunter2|swordfish/);
    expect(JSON.parse(text)).toMatchObject({
      changes: [
        { to: R2, number: 2, from: R1, diff: { env: { changed: ['SECRET'] } } },
        { to: R1, number: 1 },
      ],
    });
    expect(historyAsked).toEqual([{ fleet: 'web', limit: MAX_HISTORY }]);
  });

  it('answer the drift with its replacement, and an admin the tail of an instance log', async () => {
    const { cookie } = await signIn(ADMIN);
    const drift = (await (
      await fetch(`${base}/ui/api/fleets/web/drift`, { headers: { cookie } })
    ).json()) as { cases: { instance: string; replacedBy: string }[] };
    expect(drift.cases).toMatchObject([{ instance: 'web-0', replacedBy: 'web-1' }]);
    const tail = await fetch(`${base}/ui/api/fleets/web/instances/web-1/logs`, {
      headers: { cookie },
    });
    expect(await tail.json()).toEqual({
      id: 'web-1',
      lines: ['one', '<b>two</b>'],
      truncated: false,
    });
    // Only an instance of that fleet: the path names both.
    const other = await fetch(`${base}/ui/api/fleets/web/instances/db-1/logs`, {
      headers: { cookie },
    });
    expect([other.status, await codeOf(other)]).toEqual([404, 'E_INSTANCE_NOT_FOUND']);
  });
});
