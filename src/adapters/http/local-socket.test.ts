import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { listenLocal } from './local-socket.js';

describe("the API's local socket", () => {
  it('carries upgrades (break-glass sessions) to the API, as its TCP port does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingot-local-'));
    const app = Fastify();
    app.server.on('upgrade', (_req, socket: Socket) => {
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nhi');
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const local = await listenLocal(app, join(dir, 'sock', 'api.sock'));
    try {
      const said = await new Promise<string>((resolve, reject) => {
        const req = request({
          socketPath: local.path,
          path: '/v1/instances/a/debug/session',
          headers: { connection: 'Upgrade', upgrade: 'x' },
        });
        req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
          let text = head.toString();
          socket.on('data', (c: Buffer) => (text += c.toString()));
          socket.on('end', () => resolve(text));
        });
        req.on('response', (res) => reject(new Error(`answered ${res.statusCode}`)));
        req.on('error', reject);
        req.end();
      });
      expect(said).toBe('hi');
    } finally {
      await local.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
