import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import { MediaType } from '../../domain/media-types.js';
import { DistributionRegistry } from './client.js';

/**
 * What a real registry does not do on request: answers that misbehave on purpose. Each
 * server here plays one attacker (or one broken proxy) on loopback.
 */

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse, origin: string) => void,
): Promise<string> {
  const server = createServer((req, res) => handler(req, res, origin));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return origin;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isIngotError(err)) return err.code;
    throw err;
  }
  return 'none';
}

const sleeps: number[] = [];
function client(
  authority: string,
  credentials: { username: string; password: string } | null = null,
) {
  return new DistributionRegistry({
    authority,
    plainHttp: true,
    credentials,
    now: () => Date.parse('2026-12-04T10:00:00Z'),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
}

const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: {}, layers: [] }));

describe('registry client against hostile answers', () => {
  it('refuses a manifest over 4 MiB, or the bound asked for, declared or streamed', async () => {
    const big = await serve((req, res) => {
      if (req.url?.includes('declared')) {
        res.writeHead(200, { 'content-length': String(5 * 1024 * 1024) });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': MediaType.imageManifest });
      const chunk = Buffer.alloc(1024 * 1024, 32);
      for (let i = 0; i < 5; i++) res.write(chunk);
      res.end();
    });
    expect(await codeOf(client(big).getManifest('a', 'streamed'))).toBe('E_REGISTRY_TOO_LARGE');
    expect(await codeOf(client(big).getManifest('a', 'declared'))).toBe('E_REGISTRY_TOO_LARGE');
    // A pull asks no more than 1 MiB of a referrer's manifest.
    const tight = client(big).getManifest('a', 'streamed', 1024 * 1024);
    expect(await codeOf(tight)).toBe('E_REGISTRY_TOO_LARGE');
  });

  it('refuses a redirect loop, too many redirects and a redirect off https', async () => {
    let hops = 0;
    const loop = await serve((req, res) => {
      hops++;
      if (req.url?.includes('/loop/'))
        res.writeHead(307, { location: req.url.replace('loop', 'pool') });
      else if (req.url?.includes('/pool/'))
        res.writeHead(307, { location: req.url.replace('pool', 'loop') });
      else res.writeHead(302, { location: `/v2/chain/manifests/t${hops}` });
      res.end();
    });
    expect(await codeOf(client(loop).getManifest('loop', 'v1'))).toBe('E_REGISTRY_REDIRECT');
    hops = 0;
    expect(await codeOf(client(loop).getManifest('chain', 'v1'))).toBe('E_REGISTRY_REDIRECT');
    expect(hops).toBeLessThanOrEqual(6);
    const other = await serve((_req, res) => {
      res.writeHead(302, { location: 'file:///etc/passwd' });
      res.end();
    });
    expect(await codeOf(client(other).getManifest('a', 'v1'))).toBe('E_REGISTRY_REDIRECT');
  });

  it('retries 429 and 503 with backoff and Retry-After, then gives up', async () => {
    let calls = 0;
    const flaky = await serve((_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(429, { 'retry-after': '2' });
      else if (calls === 2) res.writeHead(503);
      else res.writeHead(200, { 'content-type': MediaType.imageManifest });
      res.end(calls > 2 ? manifest : undefined);
    });
    sleeps.length = 0;
    expect((await client(flaky).getManifest('a', 'v1')).digest).toBe(digestOf(manifest));
    expect(sleeps).toEqual([2000, expect.any(Number) as number]);
    let down = 0;
    const dead = await serve((_req, res) => {
      down++;
      res.writeHead(503);
      res.end();
    });
    expect(await codeOf(client(dead).getManifest('a', 'v1'))).toBe('E_REGISTRY_UNAVAILABLE');
    expect(down).toBe(5);
    const patient = await serve((_req, res) => {
      res.writeHead(429, { 'retry-after': '86400' });
      res.end();
    });
    expect(await codeOf(client(patient).getManifest('a', 'v1'))).toBe('E_REGISTRY_UNAVAILABLE');
  });

  it('follows the bearer-token flow, and refuses a 401 after the token', async () => {
    const seen: string[] = [];
    const registry = await serve((req, res, origin) => {
      seen.push(`${req.url} ${req.headers.authorization ?? '-'}`);
      if (req.url?.startsWith('/token')) {
        const url = new URL(req.url, 'http://x');
        const basic = Buffer.from('bob:pw').toString('base64');
        if (req.headers.authorization !== `Basic ${basic}`) res.writeHead(401).end();
        else
          res.writeHead(200).end(JSON.stringify({ token: `tok-${url.searchParams.get('scope')}` }));
        return;
      }
      const challenge = `Bearer realm="http://${origin}/token",service="test",scope="repository:app:pull"`;
      if (req.url?.includes('/forever/')) {
        res.writeHead(401, { 'www-authenticate': challenge.replace('app', 'forever') }).end();
        return;
      }
      if (req.headers.authorization === 'Bearer tok-repository:app:pull') {
        res.writeHead(200, { 'content-type': MediaType.imageManifest }).end(manifest);
        return;
      }
      res.writeHead(401, { 'www-authenticate': challenge }).end();
    });
    const bob = { username: 'bob', password: 'pw' };
    expect((await client(registry, bob).getManifest('app', 'v1')).bytes.equals(manifest)).toBe(
      true,
    );
    expect(seen).toContain('/token?service=test&scope=repository%3Aapp%3Apull Basic Ym9iOnB3');
    expect(await codeOf(client(registry, bob).getManifest('forever', 'v1'))).toBe(
      'E_REGISTRY_UNAUTHORIZED',
    );
    expect(
      await codeOf(client(registry, { username: 'bob', password: 'no' }).getManifest('app', 'v1')),
    ).toBe('E_REGISTRY_UNAUTHORIZED');
    expect(await codeOf(client(registry).getManifest('app', 'v1'))).toBe('E_REGISTRY_UNAUTHORIZED');
  });

  it('refuses a token realm that is not http(s), before sending the password anywhere', async () => {
    const registry = await serve((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="ftp://127.0.0.1/token"' }).end();
    });
    expect(
      await codeOf(client(registry, { username: 'a', password: 'b' }).getManifest('a', 'v1')),
    ).toBe('E_REGISTRY_CHALLENGE');
  });
});
