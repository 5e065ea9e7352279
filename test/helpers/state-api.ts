import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { buildApi } from '../../src/adapters/http/api.js';
import { PostgresState } from '../../src/adapters/postgres/state.js';
import type { SqlState } from '../../src/adapters/sql/state.js';
import { SqliteState } from '../../src/adapters/sqlite/state.js';
import type { ApiHandlers } from '../../src/core/api/routes.js';
import { startPostgres, type TestPostgres } from './postgres.js';

/** An API listening on loopback over one state: GET with the token (or another), then close. */
export interface ServedApi {
  readonly get: (path: string, token?: string) => Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

/**
 * `handlers` (only those the test calls; the others are never reached) served by the API's
 * own server code with `token`, as both servers serve them. Closing it closes the state too.
 */
export async function serveApi(
  state: SqlState,
  handlers: Partial<ApiHandlers>,
  token: string,
): Promise<ServedApi> {
  const app = buildApi(
    token,
    handlers as ApiHandlers,
    () => Promise.resolve({ contentType: 'text/plain', body: '' }),
    pino({ level: 'silent' }),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    get: async (path, auth = token) => {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${auth}` } });
      return { status: res.status, body: await res.json() };
    },
    close: async () => {
      await app.close();
      await state.close();
    },
  };
}

/** An error answer's code. */
export const errorCode = (body: unknown) => (body as { error: { code: string } }).error.code;

/**
 * Run `contract` over the state on SQLite (a temp file) and on a real PostgreSQL 15 (a fresh
 * database of a server started for this file), as the two servers keep it.
 */
export function onBothEngines(
  name: string,
  contract: (engine: string, open: () => Promise<SqlState>) => void,
): void {
  const root = mkdtempSync(join(tmpdir(), `ingot-${name}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  contract('SQLite', () => SqliteState.open(join(root, 'state.db')));

  let postgres: TestPostgres | undefined;
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 120_000);
  afterAll(() => postgres?.stop());
  contract('PostgreSQL 15', async () =>
    PostgresState.open(await postgres!.createDatabase(), { poolSize: 4 }),
  );
}
