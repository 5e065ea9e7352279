import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { guardConnections, type ConnectionGuard } from './connection-guard.js';

/** A server whose requests prove their connection when they carry `x-token: yes`. */
async function guarded(
  maxConnections: number,
  unprovenMs: number,
): Promise<{ server: Server; guard: ConnectionGuard; port: number }> {
  const server = createServer();
  const guard = guardConnections(server, { maxConnections, unprovenMs });
  server.on('request', (req, res) => {
    if (req.headers['x-token'] === 'yes') guard.prove(req.socket);
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, guard, port: (server.address() as AddressInfo).port };
}

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', r)));
const opened = (port: number) =>
  new Promise<Socket>((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', () => undefined);
  });
const get = (port: number, token: boolean) =>
  new Promise<number>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, headers: token ? { 'x-token': 'yes' } : {} },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });

describe('guardConnections', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('makes room for a newcomer by closing the oldest connection that never proved itself', async () => {
    const { server, guard, port } = await guarded(8, 60_000);
    servers.push(server);
    for (let i = 0; i < 8; i++) sockets.push(await opened(port));
    // The owner's request gets through a full house of idle connections.
    expect(await get(port, true)).toBe(200);
    await closed(sockets[0]!);
    expect(sockets.slice(1).every((s) => !s.destroyed)).toBe(true);
    expect(guard.count()).toBeLessThanOrEqual(8);
  });

  it('closes an idle connection before one whose request is on its way', async () => {
    const { server, port } = await guarded(8, 60_000);
    servers.push(server);
    // The oldest has sent the start of a request (a slow owner); the rest sent nothing.
    const slow = await opened(port);
    sockets.push(slow);
    slow.write('GET / HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 7; i++) sockets.push(await opened(port));
    sockets.push(await opened(port)); // one too many
    await closed(sockets[1]!);
    expect(slow.destroyed).toBe(false);
    expect(sockets.slice(2).every((s) => !s.destroyed)).toBe(true);
  });

  it('never holds more than its bound, however many come', async () => {
    const { server, guard, port } = await guarded(8, 60_000);
    servers.push(server);
    for (let i = 0; i < 40; i++) sockets.push(await opened(port));
    await Promise.all(sockets.slice(0, 32).map(closed));
    expect(guard.count()).toBe(8);
  });

  it('closes a connection that has not carried the token in time, busy or idle', async () => {
    const { server, port } = await guarded(8, 300);
    servers.push(server);
    const idle = await opened(port);
    sockets.push(idle);
    const started = performance.now();
    await closed(idle);
    expect(performance.now() - started).toBeLessThan(2000);
    // Busy with requests that lack the token: closed all the same.
    const busy = await opened(port);
    sockets.push(busy);
    const asking = setInterval(() => busy.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'), 50);
    await closed(busy);
    clearInterval(asking);
    expect(performance.now() - started).toBeLessThan(4000);
  });

  it('keeps a proved connection past the time an unproved one gets', async () => {
    const { server, guard, port } = await guarded(8, 200);
    servers.push(server);
    const proved = await opened(port);
    sockets.push(proved);
    proved.write('GET / HTTP/1.1\r\nhost: x\r\nx-token: yes\r\n\r\n');
    await new Promise((r) => proved.once('data', r));
    await new Promise((r) => setTimeout(r, 600));
    expect(proved.destroyed).toBe(false);
    expect(guard.count()).toBe(1);
  });
});
