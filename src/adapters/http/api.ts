import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  routes,
  type ApiHandlers,
  type ApiRequest,
  type RouteName,
  type RouteSpec,
} from '../../core/api/routes.js';
import { isIngotError } from '../../domain/errors.js';
import { OPENAPI_PATH, openApiDocument } from '../../core/api/openapi.js';
import { systemFault } from '../shared/system-fault.js';
import {
  guardConnections,
  type ConnectionGuard,
  type ConnectionLimits,
} from './connection-guard.js';
import type { SessionRequest } from '../../core/session/request.js';
import type { SessionAttach } from '../../ports/instance-hosts.js';
import { serveSessionUpgrades } from './session-upgrade.js';
import { arrivedLocally } from './local-socket.js';
import { peerUser, socketOwner } from './peer.js';
import { RequestLog } from './request-log.js';
import { STATUS } from './status.js';
import { isUiRoute, serveDashboard, type UiOptions } from './ui/index.js';
import { API_TIMEOUTS } from './timeouts.js';

/** Prometheus text, served beside the API. */
export type MetricsSource = () => Promise<{ contentType: string; body: string }>;

/**
 * Routes outside the admin API's table, each authenticating its callers itself (a cluster's
 * join, with the join token; a host's events, with its host credential).
 */
export interface ExtraRoutes {
  readonly ownAuth: readonly string[];
  register(app: FastifyInstance): void;
}

/**
 * The HTTP API (Fastify). Only this adapter knows status codes. Every route needs the
 * admin token: a process on this machine that cannot read `$INGOT_HOME/token` cannot
 * deploy, read state or stop the server. The dashboard's routes under /ui (ui/) are the one
 * exception: they take a session cookie, made by signing in with a token, instead.
 */
export function buildApi(
  token: string,
  handlers: ApiHandlers,
  metrics: MetricsSource,
  logger: FastifyBaseLogger,
  limits: ConnectionLimits = { maxConnections: 256, unprovenMs: 10_000 },
  more?: ExtraRoutes,
  /** Break-glass sessions (session-upgrade.ts), where this server can reach instances. */
  sessions?: (id: string, request: SessionRequest) => Promise<SessionAttach>,
  /** Ingot's version, as the OpenAPI document names it. */
  version = 'unknown',
  /** The dashboard at /ui (ui/index.ts); without it, /ui is not served. */
  ui?: UiOptions,
): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    // One line per request, at debug (request-log.ts).
    logController: new RequestLog(),
    bodyLimit: 1024 * 1024,
    keepAliveTimeout: API_TIMEOUTS.keepAliveMs,
    requestTimeout: API_TIMEOUTS.requestMs,
    http: {
      headersTimeout: API_TIMEOUTS.headersMs,
      connectionsCheckingInterval: API_TIMEOUTS.checkEveryMs,
    },
  });
  const guard = guardConnections(app.server, limits);
  const expected = Buffer.from(`Bearer ${token}`);
  const hasToken = (authorization: string | undefined) => {
    const got = Buffer.from(authorization ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
  serveIdentify(app, token);
  serveOpenApi(app, version);
  app.addHook('onRequest', async (req, reply) => {
    if (WITHOUT_TOKEN.has(req.routeOptions.url ?? '')) return undefined;
    // The dashboard's routes check its session cookie (and CSRF header) themselves.
    if (ui && isUiRoute(req.routeOptions.url)) return undefined;
    // Not proven here: until its handler accepts the credential, such a connection is
    // still one the guard may close.
    if (req.routeOptions.url !== undefined && more?.ownAuth.includes(req.routeOptions.url))
      return undefined;
    if (!hasToken(req.headers.authorization))
      return reply
        .code(401)
        .header('connection', 'close')
        .send({ error: { code: 'E_UNAUTHORIZED', message: 'a valid admin token is required' } });
    guard.prove(req.raw.socket);
    return undefined;
  });
  app.setErrorHandler((thrown, _req, reply) => {
    const err = systemFault(thrown) ?? thrown;
    if (err !== thrown) app.log.error({ err: thrown }, 'request failed');
    if (isIngotError(err))
      return reply
        .code(STATUS[err.code] ?? 500) // a code cast in from outside the union
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
  for (const name of Object.keys(routes) as RouteName[]) {
    const route: RouteSpec = routes[name];
    // Each handler is typed by its route; here they are served alike.
    const handle = handlers[name] as (request: ApiRequest<RouteSpec>) => Promise<unknown>;
    app.route({
      method: route.method,
      url: route.path,
      handler: async (req, reply) => {
        let query: unknown = {};
        if (route.query) {
          const parsed = route.query.safeParse(req.query);
          if (!parsed.success)
            return reply.code(400).send({
              error: {
                code: 'E_REQUEST',
                message: parsed.error.issues
                  .map((i) => `${i.path.join('.')}: ${i.message}`)
                  .join('; '),
              },
            });
          query = parsed.data;
        }
        // Every request got here with the admin token (onRequest): that is the credential.
        const caller = () => ({
          credential: 'admin token',
          ...(arrivedLocally(req.socket) ? socketOwner() : peerUser(req.socket)),
        });
        const answer = await handle({
          params: req.params as never,
          query: query as never,
          body: req.body,
          caller,
        });
        // Fastify sends a string as text as it is; every answer of the table is JSON.
        return typeof answer === 'string'
          ? reply.type('application/json; charset=utf-8').send(JSON.stringify(answer))
          : answer;
      },
    });
  }
  more?.register(app);
  if (ui) serveDashboard(app, token, handlers, guard, ui);
  if (sessions) serveAdminSessions(app, hasToken, guard, sessions);
  // Kept here for an admin with the admin token (and for `ingot` itself); a scraper uses
  // the metrics listener and its own read-only token (adapters/metrics/metrics-listener.ts).
  app.get('/metrics', async (_req, reply) => {
    const m = await metrics();
    return reply.type(m.contentType).send(m.body);
  });
  return app;
}

/** Routes every caller may ask, before it has the token. */
const WITHOUT_TOKEN = new Set(['/v1/identify', OPENAPI_PATH]);

function serveIdentify(app: FastifyInstance, token: string): void {
  // Before a client sends the token, the server proves it knows it: whoever took over the
  // port of a server that died cannot collect the token (HMAC of the client's nonce).
  app.get('/v1/identify', async (req, reply) => {
    const nonce = (req.query as { nonce?: unknown }).nonce;
    if (typeof nonce !== 'string' || !/^[0-9a-f]{32,128}$/.test(nonce))
      return reply
        .code(400)
        .send({ error: { code: 'E_REQUEST', message: 'nonce: 32-128 hex digits' } });
    // Answered without the token: the connection does not stay (connection-guard.ts).
    void reply.header('connection', 'close');
    return { proof: createHmac('sha256', token).update(nonce).digest('hex') };
  });
}

/**
 * The API's own description, without the token: it is made from the route table alone and
 * holds nothing the source does not (no state, no names, no secrets), so a client or an
 * editor may read it before it has a token. Made on the first request, not at start; and
 * like /v1/identify, the connection does not stay.
 */
function serveOpenApi(app: FastifyInstance, version: string): void {
  let openApi: string | null = null;
  app.get(OPENAPI_PATH, async (_req, reply) => {
    openApi ??= JSON.stringify(openApiDocument(version));
    void reply.header('connection', 'close');
    return reply.type('application/json; charset=utf-8').send(openApi);
  });
}

/** Break-glass sessions on the admin API: upgrades that carry the admin token. */
function serveAdminSessions(
  app: FastifyInstance,
  hasToken: (authorization: string | undefined) => boolean,
  guard: ConnectionGuard,
  open: (id: string, request: SessionRequest) => Promise<SessionAttach>,
): void {
  serveSessionUpgrades(
    app.server,
    {
      path: /^\/v1\/instances\/([^/]+)\/debug\/session$/,
      authorize: (req) =>
        hasToken(req.headers.authorization) ? null : 'a valid admin token is required',
      unauthorized: 'E_UNAUTHORIZED',
      open: (id, request) => open(id, request),
    },
    guard,
    (err) => app.log.error({ err }, 'break-glass session failed'),
  );
}
