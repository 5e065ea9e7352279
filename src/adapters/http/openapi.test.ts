import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_PATH } from '../../core/api/openapi.js';
import { routes, type ApiHandlers } from '../../core/api/routes.js';
import { buildApi } from './api.js';

/*
 * GET /openapi.json on a real listening API: served without the token, it names every route
 * of the table; every other route still wants the token.
 */

const TOKEN = 'a'.repeat(64);
// No route is called through: the document and the token check answer before any handler.
const handlers = {} as ApiHandlers;
const api = buildApi(
  TOKEN,
  handlers,
  () => Promise.resolve({ contentType: 'text/plain', body: '' }),
  pino({ level: 'silent' }),
  undefined,
  undefined,
  undefined,
  '9.8.7',
);
let base = '';

beforeAll(async () => {
  await api.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
});
afterAll(() => api.close());

describe('GET /openapi.json', () => {
  it('answers without a token, naming every route of the table with its method', async () => {
    const res = await fetch(`${base}${OPENAPI_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await res.json()) as {
      openapi: string;
      info: { version: string };
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('9.8.7');
    for (const [name, route] of Object.entries(routes)) {
      const path = route.path.replace(/:([a-z]+)/g, '{$1}');
      expect(doc.paths[path]?.[route.method.toLowerCase()]?.operationId, name).toBe(name);
    }
  });

  it('leaves every other route behind the token', async () => {
    const res = await fetch(`${base}${routes.fleets.path}`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_UNAUTHORIZED');
  });
});
