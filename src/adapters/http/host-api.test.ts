import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { signHostCall } from '../../core/cluster/host-call.js';
import { IngotError } from '../../domain/errors.js';
import type { InstanceHosts } from '../../ports/instance-hosts.js';
import { buildHostApi } from './host-api.js';

const CREDENTIAL = 'a'.repeat(64);
const NOW = 1_800_000_000_000;

const opened: string[] = [];
const hosts: InstanceHosts = {
  observe: () => Promise.resolve([]),
  verifyInstances: () => Promise.resolve([]),
  openDebug: (id, access) => {
    opened.push(`${id}: ${access.reason}`);
    return Promise.resolve({
      id,
      fleet: 'web',
      artifact: `sha256:${'0'.repeat(64)}`,
      state: 'running',
    } as never);
  },
  closeDebug: () => Promise.resolve(),
  logs: (id) => {
    if (id !== 'web-1') throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${id}`);
    return Promise.resolve({ id, text: 'hello\n', start: 0, size: 6 });
  },
  previous: () => Promise.reject(new Error('boom')),
};

const api = () => buildHostApi(CREDENTIAL, hosts, pino({ level: 'silent' }), () => NOW);

function signed(
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
  credential = CREDENTIAL,
  time = NOW,
) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  return {
    method,
    url,
    headers: {
      authorization: signHostCall(credential, {
        method,
        path: url,
        body: Buffer.from(payload),
        time,
        nonce: randomBytes(16).toString('hex'),
      }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { payload }),
  };
}

describe("a cluster agent's own API", () => {
  it('answers a call a server signed with the host credential', async () => {
    const res = await api().inject(signed('GET', '/v1/host/instances/web-1/logs'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: 'web-1', text: 'hello\n', start: 0, size: 6 });
  });

  it('refuses a call without a signature, with another credential, late, or seen before', async () => {
    const app = api();
    const bare = await app.inject({ method: 'GET', url: '/v1/host/instances/web-1/logs' });
    expect(bare.statusCode).toBe(401);
    expect(bare.json()).toMatchObject({ error: { code: 'E_CLUSTER_CALL' } });
    const other = await app.inject(
      signed('GET', '/v1/host/instances/web-1/logs', undefined, 'b'.repeat(64)),
    );
    expect(other.statusCode).toBe(401);
    const late = await app.inject(
      signed('GET', '/v1/host/instances/web-1/logs', undefined, CREDENTIAL, NOW - 60_000),
    );
    expect(late.statusCode).toBe(401);
    const call = signed('GET', '/v1/host/instances/web-1/logs?from=0');
    expect((await app.inject(call)).statusCode).toBe(200);
    const replay = await app.inject(call);
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({
      error: { message: expect.stringContaining('replay') as string },
    });
  });

  it('refuses a signed call whose body was changed on the way', async () => {
    const access = {
      who: 'alice',
      authenticated: { credential: 'admin token' },
      reason: 'look',
      command: '"sh"',
      ttlMs: 60_000,
    };
    const call = signed('POST', '/v1/host/instances/web-1/debug', { access });
    const tampered = {
      ...call,
      payload: JSON.stringify({ access: { ...access, ttlMs: 86_400_000 } }),
    };
    expect((await api().inject(tampered)).statusCode).toBe(401);
    expect(opened).toEqual([]);
    const res = await api().inject(call);
    expect(res.statusCode).toBe(200);
    expect(opened).toEqual(['web-1: look']);
  });

  it("passes the use case's refusals on with their codes, and hides internal errors", async () => {
    const missing = await api().inject(signed('GET', '/v1/host/instances/web-9/logs'));
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'E_INSTANCE_NOT_FOUND' } });
    const broken = await api().inject(signed('GET', '/v1/host/instances/web-1/previous'));
    expect(broken.statusCode).toBe(500);
    expect(JSON.stringify(broken.json())).not.toContain('boom');
  });

  it('refuses a debug session that is not one a server establishes', async () => {
    const res = await api().inject(
      signed('POST', '/v1/host/instances/web-1/debug', { access: { who: 'x' } }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'E_DEBUG_INVALID' } });
  });
});
