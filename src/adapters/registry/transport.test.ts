import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../domain/digest.js';
import { isIngotError, type IngotError } from '../../domain/errors.js';
import { MediaType } from '../../domain/media-types.js';
import { DistributionRegistry } from './client.js';
import type { SessionOptions } from './session.js';
import { eachChunk, type Answer } from './transport.js';

/**
 * The connection layer under the session: what undici must do for the registry client
 * (keep connections, time out, refuse, close) against loopback servers that misbehave.
 */

const servers: Server[] = [];
const clients: DistributionRegistry[] = [];
const work = mkdtempSync(join(tmpdir(), 'ingot-transport-'));
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of servers.splice(0)) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Served {
  readonly authority: string;
  /** Every connection the server accepted. */
  readonly sockets: Socket[];
}

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Served> {
  const server = createServer(handler);
  const sockets: Socket[] = [];
  server.on('connection', (s) => sockets.push(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { authority: `127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

const sleeps: number[] = [];
function client(authority: string, options: Partial<SessionOptions> = {}): DistributionRegistry {
  const c = new DistributionRegistry({
    authority,
    plainHttp: true,
    credentials: null,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<IngotError> {
  try {
    await p;
  } catch (err) {
    if (isIngotError(err)) return err;
    throw err;
  }
  throw new Error('it did not fail');
}

const bytes = (n: number, fill = 7) => Buffer.alloc(n, fill);
const descriptor = (b: Buffer) => ({
  mediaType: 'application/octet-stream',
  digest: digestOf(b),
  size: b.length,
});

describe('registry transport (undici)', () => {
  it('keeps its connections alive across requests (HEAD too), and closes them with the client', async () => {
    const s = await serve((req, res) =>
      req.method === 'HEAD'
        ? res.writeHead(404).end()
        : res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[]}'),
    );
    const c = client(s.authority);
    for (let i = 0; i < 10; i++) {
      expect(await c.hasBlob('a', descriptor(bytes(i + 1)))).toBe(false);
      expect(await c.referrers('a', digestOf(bytes(i + 1)))).toBeNull();
    }
    // undici may open a second connection while the first is being readied for reuse.
    expect(s.sockets.length).toBeLessThanOrEqual(2);
    const closed = s.sockets.map((socket) => new Promise((r) => socket.once('close', r)));
    await c.close();
    await Promise.all(closed);
  });

  it('calls a refused or reset connection transient and retries it; the retry re-reads the file', async () => {
    const port = Number((await serve(() => {})).authority.split(':')[1]);
    await new Promise((r) => servers.pop()!.close(r));
    sleeps.length = 0;
    const refused = await failure(client(`127.0.0.1:${port}`).hasBlob('a', descriptor(bytes(1))));
    expect(refused.code).toBe('E_REGISTRY_CONNECT');
    expect(refused.details).toMatchObject({ transient: true, reason: 'ECONNREFUSED' });
    expect(sleeps).toHaveLength(4);

    // The first upload is cut halfway through; the second is received whole.
    const layer = bytes(3 * 1024 * 1024 + 5, 3);
    const path = join(work, 'layer');
    writeFileSync(path, layer);
    const received: number[] = [];
    let puts = 0;
    const s = await serve((req, res) => {
      if (req.method === 'POST') {
        res.writeHead(202, { location: '/v2/a/blobs/uploads/u1' }).end();
        return;
      }
      puts++;
      let n = 0;
      req.on('data', (chunk: Buffer) => {
        n += chunk.length;
        if (puts === 1 && n > layer.length / 2) req.socket.destroy();
      });
      req.on('end', () => {
        received.push(n);
        res.writeHead(201, { 'docker-content-digest': digestOf(layer) }).end();
      });
    });
    sleeps.length = 0;
    await client(s.authority).pushBlob('a', descriptor(layer), { path });
    expect(puts).toBe(2);
    expect(received).toEqual([layer.length]);
    expect(sleeps).toHaveLength(1);
  });

  it('gives up on a registry that does not answer, or stalls in its body, within the idle time', async () => {
    const silent = await serve(() => {});
    const once = { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 };
    const quiet = await failure(
      client(silent.authority, { timeoutMs: 300, retry: once }).hasBlob('a', descriptor(bytes(1))),
    );
    expect(quiet.code).toBe('E_REGISTRY_CONNECT');
    expect(quiet.message).toContain('no answer within 300 ms');
    expect(quiet.details).toMatchObject({ transient: true, reason: 'UND_ERR_HEADERS_TIMEOUT' });

    const blob = bytes(64 * 1024, 1);
    const stalling = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.write(blob.subarray(0, 1000));
    });
    const dir = mkdtempSync(join(work, 'fetch-'));
    const stalled = await failure(
      client(stalling.authority, { timeoutMs: 300 }).fetchBlob(
        'a',
        descriptor(blob),
        join(dir, 'blob'),
      ),
    );
    expect(stalled.code).toBe('E_REGISTRY_CONNECT');
    expect(stalled.message).toContain('stalled for 300 ms');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses TLS to a server that does not speak it, as not transient, naming --ca-file', async () => {
    const s = await serve((_req, res) => res.writeHead(200).end());
    sleeps.length = 0;
    const err = await failure(
      client(s.authority, { plainHttp: false }).hasBlob('a', descriptor(bytes(1))),
    );
    expect(err.code).toBe('E_REGISTRY_CONNECT');
    expect(err.details['transient']).toBe(false);
    expect(err.message).toContain('--ca-file');
    expect(sleeps).toEqual([]);
  });

  it('refuses an answer with two different Docker-Content-Digest headers', async () => {
    const manifest = Buffer.from('{"schemaVersion":2}');
    const s = await serve((_req, res) => {
      res.setHeader('docker-content-digest', [digestOf(manifest), digestOf('something else')]);
      res.writeHead(200, { 'content-type': MediaType.imageManifest }).end(manifest);
    });
    expect((await failure(client(s.authority).getManifest('a', 'v1'))).code).toBe(
      'E_REGISTRY_PROTOCOL',
    );
  });

  it('refuses an answer its HTTP parser cannot read as a protocol error, not retried', async () => {
    // A status that is not a number.
    const answers = ['HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nab'];
    const accepted: Socket[] = [];
    const raw = createNetServer((socket) => {
      accepted.push(socket);
      socket.on('error', () => {});
      socket.end(answers.shift() ?? '');
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    sleeps.length = 0;
    try {
      const port = (raw.address() as AddressInfo).port;
      const err = await failure(client(`127.0.0.1:${port}`).getManifest('a', 'v1'));
      expect(err.code).toBe('E_REGISTRY_PROTOCOL');
      expect(err.details['reason']).toMatch(/HTTPParserError|^HPE_/);
      expect(sleeps).toEqual([]);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((r) => raw.close(r));
    }
  });

  it('refuses a file that is not the size announced (shorter, longer, gone) before opening an upload', async () => {
    const received: number[] = [];
    let posts = 0;
    const s = await serve((req, res) => {
      if (req.method === 'POST') {
        posts++;
        res.writeHead(202, { location: '/v2/a/blobs/uploads/u' }).end();
        return;
      }
      let n = 0;
      req.on('data', (chunk: Buffer) => (n += chunk.length));
      req.on('end', () => {
        received.push(n);
        res.writeHead(201).end();
      });
    });
    const path = join(work, 'changed');
    writeFileSync(path, bytes(2 * 1024 * 1024 + 1, 9));
    const cases = [
      [path, 2 * 1024 * 1024],
      [path, 3 * 1024 * 1024],
      [join(work, 'gone'), 1],
    ] as const;
    for (const [file, size] of cases) {
      const blob = { mediaType: 'application/octet-stream', digest: digestOf(bytes(1)), size };
      const err = await failure(client(s.authority).pushBlob('a', blob, { path: file }));
      expect(err.code).toBe('E_REGISTRY_SIZE_MISMATCH');
      expect(err.message).toMatch(/changed under the push|the store is damaged/);
    }
    // Nothing was sent, not even the POST that opens an upload.
    expect(received).toEqual([]);
    expect(posts).toBe(0);
  });

  it('sends a file body again, whole, where a 307 points', async () => {
    const layer = bytes(2 * 1024 * 1024, 5);
    const path = join(work, 'moved');
    writeFileSync(path, layer);
    const received: Record<string, number> = {};
    const s = await serve((req, res) => {
      if (req.method === 'POST') {
        res.writeHead(202, { location: '/v2/a/blobs/uploads/first' }).end();
        return;
      }
      if (req.url?.includes('/first')) {
        // Answered before the body is read, as a load balancer would.
        res.writeHead(307, { location: req.url.replace('first', 'second') }).end();
        return;
      }
      let n = 0;
      req.on('data', (chunk: Buffer) => (n += chunk.length));
      req.on('end', () => {
        received[new URL(req.url!, 'http://x').pathname] = n;
        res.writeHead(201).end();
      });
    });
    await client(s.authority).pushBlob('a', descriptor(layer), { path });
    expect(received).toEqual({ '/v2/a/blobs/uploads/second': layer.length });
  });
});

describe('eachChunk', () => {
  const answer = (body: PassThrough): Answer => ({
    status: 200,
    headers: {},
    body,
    method: 'GET',
    url: new URL('http://registry.test/v2/a/blobs/sha256:0'),
    timeoutMs: 1000,
  });

  it('ends with the body, and fails a body that closes before its end without an error', async () => {
    const whole = new PassThrough();
    const seen: string[] = [];
    const read = eachChunk(answer(whole), (c) => void seen.push(c.toString()));
    whole.end('one');
    await read;
    expect(seen).toEqual(['one']);

    // Destroyed by someone else: 'close' comes, neither 'end' nor 'error' does.
    const cut = new PassThrough();
    const cutRead = eachChunk(answer(cut), () => undefined);
    cut.write('half');
    cut.destroy();
    expect(await failure(cutRead)).toMatchObject({
      code: 'E_REGISTRY_CONNECT',
      details: { transient: true },
    });
  });
});
