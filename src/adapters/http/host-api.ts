import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify';
import { debugAccess, HOST_PATHS } from '../../core/api/host-routes.js';
import { logsQuery } from '../../core/api/instances.js';
import type { IncomingMessage } from 'node:http';
import { checkHostCall, SeenCalls } from '../../core/cluster/host-call.js';
import { sessionKeys } from '../../core/session/seal.js';
import { sealedStream } from '../shared/sealed-stream.js';
import { IngotError, isIngotError } from '../../domain/errors.js';
import type { InstanceHosts } from '../../ports/instance-hosts.js';
import { systemFault } from '../shared/system-fault.js';
import { guardConnections } from './connection-guard.js';
import { serveSessionUpgrades } from './session-upgrade.js';
import { STATUS } from './status.js';
import { API_TIMEOUTS } from './timeouts.js';

/** A request body as it arrived: the signature covers its bytes, not a parse of them. */
type RawRequest = FastifyRequest & { rawBody?: Buffer };

const MAX_BODY_BYTES = 64 * 1024;

/**
 * A cluster agent's own API (`ingot agent --listen`), for the servers: logs, verification now
 * and break-glass on this host's instances. Nothing else: deploys, status and the ledger go
 * through the servers and etcd. Every request must be signed by a server with this host's
 * credential (core/cluster/host-call.ts), within 30 s of this host's clock, and is accepted
 * once: whoever reaches the port without the credential gets nothing, and a call seen on the
 * wire cannot be sent again.
 */
export function buildHostApi(
  credential: string,
  hosts: InstanceHosts,
  logger: FastifyBaseLogger,
  now: () => number = Date.now,
): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: MAX_BODY_BYTES,
    keepAliveTimeout: API_TIMEOUTS.keepAliveMs,
    requestTimeout: API_TIMEOUTS.requestMs,
    http: {
      headersTimeout: API_TIMEOUTS.headersMs,
      connectionsCheckingInterval: API_TIMEOUTS.checkEveryMs,
    },
  });
  // Only servers call, and rarely: a small budget of connections, unproven ones dropped fast.
  const guard = guardConnections(app.server, { maxConnections: 32, unprovenMs: 5000 });
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    (req as RawRequest).rawBody = body as Buffer;
    try {
      done(
        null,
        (body as Buffer).length === 0 ? {} : JSON.parse((body as Buffer).toString('utf8')),
      );
    } catch {
      done(new IngotError('E_REQUEST', 'the body is not JSON'), undefined);
    }
  });
  const seen = new SeenCalls();
  /** Why a call is refused (unsigned, late, replayed), or its signature once accepted. */
  const accept = (
    authorization: string | undefined,
    call: { method: string; path: string; body: Uint8Array },
  ): { refusal: string } | { signature: string } => {
    const at = now();
    const check = checkHostCall(credential, authorization, call, at);
    if (!check.ok) return { refusal: check.reason };
    if (!seen.firstTime(check.signature, at))
      return { refusal: 'this call was already made once (a replay)' };
    return { signature: check.signature };
  };
  app.addHook('preHandler', async (req, reply) => {
    const accepted = accept(req.headers.authorization, {
      method: req.method,
      path: req.url,
      body: (req as RawRequest).rawBody ?? new Uint8Array(),
    });
    const refusal = 'refusal' in accepted ? accepted.refusal : null;
    if (refusal !== null)
      return reply
        .code(401)
        .header('connection', 'close')
        .send({ error: { code: 'E_CLUSTER_CALL', message: refusal } });
    guard.prove(req.raw.socket);
    return undefined;
  });
  app.setErrorHandler((thrown, _req, reply) => {
    const err = systemFault(thrown) ?? thrown;
    if (isIngotError(err))
      return reply
        .code(STATUS[err.code] ?? 500)
        .send({ error: { code: err.code, message: err.message } });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) app.log.error({ err }, 'host call failed');
    return reply.code(status >= 500 ? 500 : status).send({
      error: {
        code: status >= 500 ? 'E_INTERNAL' : 'E_REQUEST',
        message: status >= 500 ? 'internal error (see agent.log)' : (err as Error).message,
      },
    });
  });
  registerRoutes(app, hosts);
  // The signature each accepted session was opened with: its stream's keys derive from it.
  const signatures = new WeakMap<IncomingMessage, string>();
  serveSessionUpgrades(
    app.server,
    {
      path: /^\/v1\/host\/instances\/([^/]+)\/debug\/session$/,
      // Signed as any call, over the path with its query (the session's command) and no body.
      authorize: (req) => {
        const accepted = accept(req.headers.authorization, {
          method: req.method ?? '',
          path: req.url ?? '',
          body: new Uint8Array(),
        });
        if ('refusal' in accepted) return accepted.refusal;
        signatures.set(req, accepted.signature);
        return null;
      },
      unauthorized: 'E_CLUSTER_CALL',
      open: async (id, request, req) => {
        const keys = sessionKeys(credential, signatures.get(req) ?? '');
        const attach = await hosts.debugSession(id, request);
        // What crosses the network is sealed (core/session/seal.ts); the session sees frames.
        return (client) =>
          attach(sealedStream(client, { send: keys.toServer, receive: keys.toHost }));
      },
    },
    guard,
    (err) => app.log.error({ err }, 'break-glass session failed'),
  );
  return app;
}

const id = (req: FastifyRequest) => (req.params as { id: string }).id;

function registerRoutes(app: FastifyInstance, hosts: InstanceHosts): void {
  app.post(HOST_PATHS.verifyInstances, () => hosts.verifyInstances());
  app.post(HOST_PATHS.openDebug, (req) => {
    const parsed = debugAccess.safeParse((req.body as { access?: unknown } | null)?.access);
    if (!parsed.success)
      throw new IngotError('E_DEBUG_INVALID', 'the session is not one a server establishes');
    const { authenticated, ...rest } = parsed.data;
    return hosts.openDebug(id(req), { ...rest, authenticated: { ...authenticated } });
  });
  app.post(HOST_PATHS.closeDebug, async (req) => {
    await hosts.closeDebug(id(req));
    return { closed: true };
  });
  app.get(HOST_PATHS.logs, (req) => {
    const query = logsQuery.safeParse(req.query ?? {});
    if (!query.success)
      throw new IngotError(
        'E_REQUEST',
        'from: a byte offset; since: an RFC 3339 time; tail: a number of lines; marks: 1 (or none of them)',
      );
    return hosts.logs(id(req), query.data);
  });
  app.get(HOST_PATHS.previous, (req) => hosts.previous(id(req)));
}
