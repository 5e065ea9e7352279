import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../core/api/routes.js';
import { IngotError } from '../domain/errors.js';
import { call } from './client.js';
import type { ApiSettings } from './target.js';

/**
 * The client against servers named by URL: what it sends, and what each way of failing is
 * called. (The real server is tested from the built CLI in test/remote-server.test.ts; TLS,
 * which `ingot up` does not serve, only here.)
 */
const dir = mkdtempSync(join(tmpdir(), 'ingot-client-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'sekrit\n', { mode: 0o600 });

/** What the test servers saw. */
const seen: { url?: string; authorization?: string }[] = [];
const answer = (req: IncomingMessage, res: ServerResponse) => {
  seen.push({
    ...(req.url !== undefined && { url: req.url }),
    ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization }),
  });
  const ok = req.headers.authorization === 'Bearer sekrit';
  res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify(
      ok
        ? { ok: true }
        : { error: { code: 'E_UNAUTHORIZED', message: 'a valid admin token is required' } },
    ),
  );
};

let plain: Server;
let tls: Server;
let caFile = '';
const port = (s: Server) => (s.address() as AddressInfo).port;

beforeAll(async () => {
  // A self-signed certificate for 127.0.0.1: its own CA.
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-subj', '/CN=ingot-test', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    ],
    { stdio: 'pipe' },
  );
  caFile = join(dir, 'cert.pem');
  plain = createHttpServer(answer);
  tls = createHttpsServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(caFile) },
    answer,
  );
  await Promise.all(
    [plain, tls].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))),
  );
});

afterAll(async () => {
  await Promise.all([plain, tls].map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

const api = (flags: ApiSettings['flags'], env: ApiSettings['env'] = {}): ApiSettings => ({
  home: join(dir, 'home'),
  flags,
  env,
});

async function failure(p: Promise<unknown>): Promise<IngotError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(IngotError);
    return err as IngotError;
  }
  throw new Error('the call did not fail');
}

describe('calls to a server named by URL', () => {
  it('send the token from the token file, under the URL’s path, without the home’s handshake', async () => {
    seen.length = 0;
    const server = `http://127.0.0.1:${port(plain)}/edge/`;
    expect(await call(api({ server, tokenFile }), routes.health)).toEqual({ ok: true });
    expect(seen).toEqual([{ url: '/edge/healthz', authorization: 'Bearer sekrit' }]);
  });

  it('say whose token was refused', async () => {
    const bad = join(dir, 'wrong');
    writeFileSync(bad, 'wrong\n', { mode: 0o600 });
    const err = await failure(
      call(
        api({}, { INGOT_SERVER: `http://127.0.0.1:${port(plain)}`, INGOT_TOKEN_FILE: bad }),
        routes.health,
      ),
    );
    expect(err.code).toBe('E_UNAUTHORIZED');
    expect(err.message).toContain(`refused the token from ${bad} (INGOT_TOKEN_FILE)`);
  });

  it('take a bare 401 (a proxy in front of the server) as a refused token', async () => {
    const proxy = createHttpServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'text/html' });
      res.end('<h1>401 Authorization Required</h1>');
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const err = await failure(
        call(api({ server: `http://127.0.0.1:${port(proxy)}`, tokenFile }), routes.health),
      );
      expect(err.code).toBe('E_UNAUTHORIZED');
      expect(err.message).toContain(`refused the token from ${tokenFile} (--token-file): HTTP 401`);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });

  it('over https, verify the certificate: against the CA given, never without', async () => {
    const server = `https://127.0.0.1:${port(tls)}`;
    expect(await call(api({ server, tokenFile, caFile }), routes.health)).toEqual({ ok: true });
    const err = await failure(call(api({ server, tokenFile }), routes.health));
    expect(err.code).toBe('E_TLS');
    expect(err.message).toMatch(/give that CA with --server-ca-file or INGOT_CA_FILE/);
    // Whatever the environment says about TLS: the option is explicit.
    const before = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
    process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
    try {
      expect((await failure(call(api({ server, tokenFile }), routes.health))).code).toBe('E_TLS');
    } finally {
      if (before === undefined) delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
      else process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = before;
    }
  });

  it('say so when https meets a server of plain http', async () => {
    const err = await failure(
      call(api({ server: `https://127.0.0.1:${port(plain)}`, tokenFile }), routes.health),
    );
    expect(err.code).toBe('E_TLS');
    expect(err.message).toMatch(
      /does not answer in TLS .*does it serve http:\/\/ rather than https/,
    );
    expect(err.message).not.toContain('\n');
  });

  it('say so when nothing answers, naming the setting to check', async () => {
    const closed = createHttpServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const at = port(closed);
    await new Promise((r) => closed.close(r));
    const err = await failure(
      call(api({ server: `http://127.0.0.1:${at}`, tokenFile }), routes.health),
    );
    expect(err.code).toBe('E_NOT_RUNNING');
    expect(err.message).toMatch(/ECONNREFUSED.*is the server running, and is --server right\?/);
  });

  it('read the token file first: an open one is refused before anything is sent', async () => {
    const open = join(dir, 'open');
    writeFileSync(open, 'sekrit\n', { mode: 0o644 });
    seen.length = 0;
    const server = `http://127.0.0.1:${port(plain)}`;
    expect((await failure(call(api({ server, tokenFile: open }), routes.health))).code).toBe(
      'E_TOKEN_FILE_INSECURE',
    );
    expect(seen).toEqual([]);
  });
});

describe('with no server anywhere', () => {
  it('names the three ways to one', async () => {
    const err = await failure(call(api({}), routes.health));
    expect(err.code).toBe('E_NOT_RUNNING');
    expect(err.message).toContain('Ingot is not running for');
    for (const way of ['ingot up --detach', '--server URL', 'INGOT_SERVER', '--token-file'])
      expect(err.message).toContain(way);
  });
});
