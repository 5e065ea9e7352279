import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import Agent from 'undici/lib/dispatcher/agent.js';
import request from 'undici/lib/api/api-request.js';

/**
 * The transport loads undici's Agent and request from their own files (undici-parts.d.ts):
 * private paths, which a release may move or change without a major version. undici is pinned
 * to one version for that; this says whether the pinned one still has them, as the transport
 * calls them, before anything else fails in a less obvious way.
 */
describe('undici, by its private paths', () => {
  it('has an Agent and a request that, called on it, make a request', async () => {
    const server = createServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const agent = new Agent({ connect: { rejectUnauthorized: true } });
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await request.call(agent, {
        origin: `http://127.0.0.1:${port}`,
        path: '/',
        method: 'GET',
      });
      expect(answer.statusCode).toBe(200);
      expect(await answer.body.text()).toBe('hello');
    } finally {
      await agent.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
