import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { signHostCall } from '../../core/cluster/host-call.js';
import { IngotError } from '../../domain/errors.js';
import type { InstanceHosts } from '../../ports/instance-hosts.js';
import { openHostSession } from '../host-calls/client.js';
import {
  FRAME,
  FrameReader,
  encodeFrame,
  exitFrame,
  exitStatus,
} from '../../core/session/frames.js';
import { buildHostApi } from './host-api.js';

/** What the logs use case was asked, in order. */
const asked: unknown[] = [];

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
  logs: (id, query) => {
    if (id !== 'web-1') throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${id}`);
    asked.push(query);
    return Promise.resolve({ id, text: 'hello\n', start: 0, size: 6 });
  },
  previous: () => Promise.reject(new Error('boom')),
  // A session that says back what it was sent, then ends with 7; none on web-2.
  debugSession: (id, request) => {
    if (id !== 'web-1')
      return Promise.reject(new IngotError('E_DEBUG_NOT_OPEN', `no session open on ${id}`));
    return Promise.resolve((client) => {
      const reader = new FrameReader();
      client.write(encodeFrame(FRAME.stdout, Buffer.from(request.command.join(' '))));
      client.on('data', (chunk: Buffer) => {
        for (const f of reader.push(chunk))
          if (f.type === FRAME.input) client.write(encodeFrame(FRAME.stdout, f.payload));
          else if (f.type === FRAME.inputEnd) client.end(exitFrame(7));
      });
    });
  },
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
  it('hands the logs query on as the servers send it, and refuses one that is not', async () => {
    asked.length = 0;
    const app = api();
    const since = '2026-12-05T04:00:00.000Z';
    const ok = await app.inject(
      signed('GET', `/v1/host/instances/web-1/logs?since=${encodeURIComponent(since)}&marks=1`),
    );
    expect(ok.statusCode).toBe(200);
    const tailed = await app.inject(signed('GET', `/v1/host/instances/web-1/logs?tail=10&marks=1`));
    expect(tailed.statusCode).toBe(200);
    expect(asked).toEqual([
      { since, marks: '1' },
      { tail: '10', marks: '1' },
    ]);
    for (const bad of ['since=yesterday', 'from=-1', 'marks=yes', 'tail=-1', 'tail=1e3'])
      expect(
        (await app.inject(signed('GET', `/v1/host/instances/web-1/logs?${bad}`))).statusCode,
        bad,
      ).toBe(400);
  });

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

  it('runs a session over a signed upgrade, and refuses unsigned, replayed and unopened ones', async () => {
    // Real time: the signature's clock is the host's.
    const app = buildHostApi(CREDENTIAL, hosts, pino({ level: 'silent' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as { port: number };
      const target = { name: 'h1', api: `http://127.0.0.1:${port}`, credential: CREDENTIAL };
      const path = '/v1/host/instances/web-1/debug/session?command=%5B%22sh%22%5D';
      const attach = await openHostSession(target, path);
      const { client, output, status } = sessionEnd();
      attach(client.near);
      client.far.write(encodeFrame(FRAME.input, Buffer.from(' hi')));
      client.far.write(encodeFrame(FRAME.inputEnd));
      expect(await status).toBe(7);
      expect(output()).toBe('sh hi');
      client.far.end();

      const refused = (err: unknown): string =>
        err instanceof IngotError ? String(err.code) : String(err);
      const other = { ...target, credential: 'b'.repeat(64) };
      expect(await openHostSession(other, path).catch(refused)).toBe('E_CLUSTER_CALL');
      // The same signed request twice: the second is a replay.
      const authorization = signHostCall(CREDENTIAL, {
        method: 'GET',
        path,
        body: new Uint8Array(),
        time: Date.now(),
        nonce: randomBytes(16).toString('hex'),
      });
      expect(await upgradeStatus(port, path, authorization)).toBe(101);
      expect(await upgradeStatus(port, path, authorization)).toBe(401);
      const unopened = '/v1/host/instances/web-2/debug/session?command=%5B%22sh%22%5D';
      expect(await openHostSession(target, unopened).catch(refused)).toBe('E_DEBUG_NOT_OPEN');
      const malformed = '/v1/host/instances/web-1/debug/session?command=sh';
      expect(await openHostSession(target, malformed).catch(refused)).toBe('E_DEBUG_INVALID');
    } finally {
      await app.close();
    }
  });
});

/** The status a raw upgrade request gets (101 when the session opened; then it is closed). */
function upgradeStatus(port: number, path: string, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: { authorization, connection: 'Upgrade', upgrade: 'ingot-session' },
    });
    req.on('upgrade', (_res, socket: Socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Two connected ends of a session for a test: the relay's, and the client's with what it read. */
function sessionEnd() {
  const near = new PassThrough();
  const far = new PassThrough();
  const both = { near: Duplex.from({ readable: far, writable: near }), far };
  const reader = new FrameReader();
  let text = '';
  const status = new Promise<number>((resolve) => {
    near.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk))
        if (f.type === FRAME.stdout) text += f.payload.toString();
        else if (f.type === FRAME.exit) resolve(exitStatus(f));
    });
  });
  return { client: both, output: () => text, status };
}
