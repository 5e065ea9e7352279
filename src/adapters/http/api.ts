import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { isIngotError } from '../../domain/errors.js';

export interface ApiHandlers {
  deploy(body: unknown): Promise<unknown>;
  rollback(fleet: string, body: unknown): Promise<unknown>;
  promote(fleet: string, body: unknown): Promise<unknown>;
  fleets(): Promise<unknown>;
  /** Instances with their integrity evidence. */
  drift(fleet?: string): Promise<unknown>;
  verifyInstances(): Promise<unknown>;
  openDebug(instance: string, body: unknown): Promise<unknown>;
  closeDebug(instance: string): Promise<unknown>;
  history(fleet?: string): Promise<unknown>;
  /** Sign a checkpoint over the ledger as it is now; returns the latest. */
  checkpoint(): Promise<unknown>;
  metrics(): Promise<{ contentType: string; body: string }>;
  shutdown(options: { stopInstances: boolean }): void;
}

/** Codes a client caused, and the HTTP status that says so; anything else is a 500. */
const STATUS: Record<string, number> = {
  E_FLEET_INVALID: 400,
  E_FLEET_STRATEGY: 400,
  E_USAGE: 400,
  E_NOT_AN_IMAGE: 400,
  E_TAG_INVALID: 400,
  E_DIGEST_INVALID: 400,
  E_DIGEST_ALGORITHM: 400,
  E_BLOB_TOO_LARGE: 400,
  E_DEPLOY_REFUSED: 403,
  E_REF_NOT_FOUND: 404,
  E_REF_AMBIGUOUS: 409,
  E_FLEET_NOT_FOUND: 404,
  E_ROLLBACK_NONE: 409,
  E_PROMOTE_NONE: 409,
  E_INSTANCE_NOT_FOUND: 404,
  E_DEBUG_INVALID: 400,
};

/**
 * The HTTP API (Fastify). Only this adapter knows status codes. Every route needs the
 * admin token: a process on this machine that cannot read `$INGOT_HOME/token` cannot
 * deploy, read state or stop the server.
 */
export function buildApi(
  token: string,
  handlers: ApiHandlers,
  logger: FastifyBaseLogger,
): FastifyInstance {
  const app = Fastify({ loggerInstance: logger, bodyLimit: 1024 * 1024 });
  const expected = Buffer.from(`Bearer ${token}`);
  // Before a client sends the token, the server proves it knows it: whoever took over the
  // port of a server that died cannot collect the token (HMAC of the client's nonce).
  app.get('/v1/identify', async (req, reply) => {
    const nonce = (req.query as { nonce?: unknown }).nonce;
    if (typeof nonce !== 'string' || !/^[0-9a-f]{32,128}$/.test(nonce))
      return reply
        .code(400)
        .send({ error: { code: 'E_REQUEST', message: 'nonce: 32-128 hex digits' } });
    return { proof: createHmac('sha256', token).update(nonce).digest('hex') };
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.url === '/v1/identify') return undefined;
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected))
      return reply
        .code(401)
        .send({ error: { code: 'E_UNAUTHORIZED', message: 'a valid admin token is required' } });
    return undefined;
  });
  app.setErrorHandler((err, _req, reply) => {
    if (isIngotError(err))
      return reply
        .code(STATUS[err.code] ?? 500)
        .send({ error: { code: err.code, message: err.message, ...err.details } });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) {
      // The detail is for the log, not for the client.
      app.log.error({ err }, 'request failed');
      return reply
        .code(500)
        .send({ error: { code: 'E_INTERNAL', message: 'internal error (see server.log)' } });
    }
    return reply
      .code(status)
      .send({ error: { code: 'E_REQUEST', message: (err as Error).message } });
  });
  app.get('/healthz', () => ({ ok: true }));
  app.post('/v1/fleets', async (req) => handlers.deploy(req.body));
  app.get('/v1/fleets', async () => handlers.fleets());
  app.post('/v1/fleets/:name/rollback', async (req) =>
    handlers.rollback((req.params as { name: string }).name, req.body),
  );
  app.post('/v1/fleets/:name/promote', async (req) =>
    handlers.promote((req.params as { name: string }).name, req.body),
  );
  app.get('/v1/drift', async (req) => {
    const fleet = (req.query as { fleet?: unknown }).fleet;
    return handlers.drift(typeof fleet === 'string' ? fleet : undefined);
  });
  app.post('/v1/verify-instances', async () => handlers.verifyInstances());
  app.post('/v1/instances/:id/debug', async (req) =>
    handlers.openDebug((req.params as { id: string }).id, req.body),
  );
  app.post('/v1/instances/:id/debug/close', async (req) =>
    handlers.closeDebug((req.params as { id: string }).id),
  );
  app.post('/v1/ledger/checkpoint', async () => handlers.checkpoint());
  app.get('/v1/history', async (req, reply) => {
    const fleet = (req.query as { fleet?: unknown }).fleet;
    if (fleet !== undefined && typeof fleet !== 'string')
      return reply.code(400).send({ error: { code: 'E_REQUEST', message: 'fleet: one name' } });
    return handlers.history(fleet);
  });
  app.get('/metrics', async (_req, reply) => {
    const m = await handlers.metrics();
    return reply.type(m.contentType).send(m.body);
  });
  app.post('/v1/shutdown', (req) => {
    const body = (req.body ?? {}) as { stopInstances?: unknown };
    handlers.shutdown({ stopInstances: body.stopInstances === true });
    return { ok: true };
  });
  return app;
}
