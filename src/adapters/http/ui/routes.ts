import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../../core/api/routes.js';
import { forRole, type UiFleet } from '../../../core/ui/fleet-view.js';
import {
  UI_SESSION_LIMITS,
  UiSessions,
  type UiRole,
  type UiSession,
  type UiSessionLimits,
} from '../../../core/ui/sessions.js';
import {
  SIGN_IN_LIMITS,
  SignInLimiter,
  type SignInLimits,
  type SignInVerdict,
} from '../../../core/ui/sign-in-limit.js';
import { IngotError } from '../../../domain/errors.js';
import type { UiAssets } from './assets.js';
import { sessionCookie, sessionIdOf } from './cookie.js';
import { serveEvidence, type EvidenceDeps } from './evidence-routes.js';
import { Feed } from './feed.js';
import { reasonOf, serveOps, type OpsDeps } from './ops-routes.js';
import { IMMUTABLE, NO_STORE, REVALIDATE, SECURITY_HEADERS } from './headers.js';
import { serveEvents, type Streams } from './stream.js';

/** The header every state-changing request of the page carries, equal to its session's value. */
export const CSRF_HEADER = 'x-ingot-csrf';
export const UI_PREFIX = '/ui';

export interface UiDeps {
  /** The built page and its assets; null: this build has none (answers E_UI_NOT_BUILT). */
  readonly assets: UiAssets | null;
  /** The tokens that sign in, each giving its role. */
  readonly tokens: { readonly admin: string; readonly readOnly?: string };
  /** The fleets as the dashboard shows them (the API's view, with the rollout worked out). */
  readonly fleets: () => Promise<UiFleet[]>;
  /** The API's promote use case, as the CLI's route calls it. */
  readonly promote: (
    name: string,
    body: unknown,
    caller: Caller,
    reason: string | undefined,
  ) => Promise<unknown>;
  /** Fleet operations: pause, resume, abort, rollback; releases, drift, log tails. */
  readonly ops: OpsDeps;
  /** Who is on the other end of a connection, as the kernel says. */
  readonly peer: (socket: Socket) => { uid: number; user?: string } | null;
  /** A signed-in connection may stay open (connection-guard.ts). */
  readonly prove: (socket: Socket) => void;
  readonly now: () => number;
  /** The ledger, artifacts and hosts views (evidence-routes.ts); absent: not served. */
  readonly evidence?: EvidenceDeps;
  readonly limits?: UiSessionLimits;
  /** How often sign-in may be tried, per address and overall (default SIGN_IN_LIMITS). */
  readonly signInLimits?: SignInLimits;
  /** How often open streams' view is read (default 500 ms, the controller's pace). */
  readonly pollMs?: number;
  readonly heartbeatMs?: number;
  readonly failed: (err: unknown) => void;
}

/** What a signed-in request carries once its cookie was checked. */
interface Signed {
  readonly id: string;
  readonly session: UiSession;
}

/**
 * The dashboard at /ui: its page and assets, sign-in to a cookie session, the fleets, their
 * live stream and Promote. These routes authenticate callers themselves (api.ts lets /ui
 * through without the bearer token): the cookie for reads, the cookie and the CSRF header for
 * anything that changes state. The bearer-token API is untouched.
 */
export function serveUi(app: FastifyInstance, deps: UiDeps): void {
  const limits = deps.limits ?? UI_SESSION_LIMITS;
  const sessions = new UiSessions(limits);
  const feeds = {
    admin: new Feed(async () => deps.fleets(), deps.pollMs ?? 500, deps.failed),
    'read-only': new Feed(
      async () => forRole(await deps.fleets(), 'read-only'),
      deps.pollMs ?? 500,
      deps.failed,
    ),
  };
  const streams: Streams = new Set();
  // Open streams would hold `close` forever: end them before the server stops listening.
  app.addHook('preClose', (done) => {
    for (const end of streams) end();
    done();
  });
  const roleOf = tokenRoles(deps.tokens);
  const signIns = new SignInLimiter(deps.signInLimits ?? SIGN_IN_LIMITS);
  const signed = (req: FastifyRequest): Signed => {
    const id = sessionIdOf(req.headers.cookie);
    const session = sessions.find(id, deps.now());
    if (id === undefined || session === null)
      throw new IngotError('E_UI_SESSION', 'sign in to the dashboard (no live session cookie)');
    deps.prove(req.raw.socket);
    return { id, session };
  };
  const acting = (req: FastifyRequest): Signed => {
    const s = signed(req);
    const got = req.headers[CSRF_HEADER];
    if (typeof got !== 'string' || !sameSecret(got, s.session.csrf))
      throw new IngotError(
        'E_UI_CSRF',
        `a state-changing request needs the ${CSRF_HEADER} header of its session`,
      );
    return s;
  };
  const caller = (req: FastifyRequest, role: UiRole): Caller => ({
    credential: `dashboard session (${role} token)`,
    ...deps.peer(req.raw.socket),
  });

  void app.register(
    (ui, _options, done) => {
      ui.addHook('onSend', (_req, reply, payload, done) => {
        void reply.headers(SECURITY_HEADERS);
        if (!reply.hasHeader('cache-control')) void reply.header('cache-control', NO_STORE);
        done(null, payload);
      });
      servePage(ui, deps.assets);
      ui.post('/session', async (req, reply) => {
        // Counted before anything is read or compared: a refused attempt costs us nothing.
        const peer = peerAddress(req);
        const limit = signIns.take(peer, deps.now());
        if (!limit.ok) return tooManySignIns(reply, limit);
        // JSON only: what a page of another site can post without asking first (a form's
        // text/plain or urlencoded body) never signs anyone in.
        if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
          return reply.code(415).send({
            error: { code: 'E_REQUEST', message: 'sign in with a JSON body: {"token": …}' },
          });
        const role = roleOrFailure(roleOf, req.body, () => signIns.failed(peer, deps.now()));
        const id = randomBytes(32).toString('base64url');
        const session = sessions.open(
          role,
          { id, csrf: randomBytes(32).toString('base64url') },
          deps.now(),
        );
        deps.prove(req.raw.socket);
        void reply.header(
          'set-cookie',
          sessionCookie(id, limits.maxAgeMs / 1000, req.protocol === 'https'),
        );
        return { role, csrf: session.csrf };
      });
      ui.get('/session', (req) => {
        const { session } = signed(req);
        return { role: session.role, csrf: session.csrf };
      });
      ui.post('/session/end', async (req, reply) => {
        sessions.end(acting(req).id);
        void reply.header('set-cookie', sessionCookie('', 0, req.protocol === 'https'));
        return { ok: true };
      });
      ui.get('/api/fleets', async (req) => {
        const { session } = signed(req);
        return forRole(await deps.fleets(), session.role);
      });
      ui.post('/api/fleets/:name/promote', async (req) => {
        const { session } = acting(req);
        if (session.role !== 'admin')
          throw new IngotError(
            'E_UI_READ_ONLY',
            'signed in read-only: promoting needs the admin token',
          );
        const { name } = req.params as { name: string };
        return deps.promote(name, req.body ?? {}, caller(req, session.role), reasonOf(req.body));
      });
      serveOps(ui, { signed, acting, caller }, deps.ops);
      if (deps.evidence) serveEvidence(ui, deps.evidence, signed, deps.fleets);
      serveEvents(ui, {
        signed: (req) => signed(req),
        alive: (s) => sessions.alive(s.id, s.session, deps.now()),
        take: (s) => sessions.takeStream(s.session),
        release: (s) => sessions.releaseStream(s.session),
        feedOf: (s) => feeds[s.session.role],
        streams,
        now: deps.now,
        heartbeatMs: deps.heartbeatMs ?? 15_000,
      });
      done();
    },
    { prefix: UI_PREFIX },
  );
}

/** The role the body's token gives; a wrong one is counted (`failed`) and refused. */
function roleOrFailure(
  roleOf: (token: string) => UiRole | null,
  body: unknown,
  failed: () => void,
): UiRole {
  const token = (body as { token?: unknown } | null)?.token;
  const role = typeof token === 'string' ? roleOf(token) : null;
  if (role !== null) return role;
  failed();
  throw new IngotError('E_UNAUTHORIZED', 'that is not the admin token nor the read-only token');
}

/** The page and its hashed assets, from memory. */
function servePage(ui: FastifyInstance, assets: UiAssets | null): void {
  const send = (path: string, req: FastifyRequest, reply: FastifyReply) => {
    if (assets === null)
      throw new IngotError('E_UI_NOT_BUILT', 'this build has no dashboard: run `npm run build`');
    const asset = assets.get(path);
    if (!asset)
      return reply.code(404).send({ error: { code: 'E_REQUEST', message: 'no such file' } });
    void reply
      .header('content-type', asset.type)
      .header('etag', asset.etag)
      .header('cache-control', asset.immutable ? IMMUTABLE : REVALIDATE)
      .header('vary', 'accept-encoding');
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) void reply.header('content-encoding', 'gzip');
    return reply.send(gzip ? asset.gzip : asset.body);
  };
  ui.get('/', (req, reply) => send('', req, reply));
  ui.get('/assets/:file', (req, reply) =>
    send(`assets/${(req.params as { file: string }).file}`, req, reply),
  );
}

/** 429 with Retry-After: this address (or everyone) tried to sign in too often. */
function tooManySignIns(
  reply: FastifyReply,
  limit: Extract<SignInVerdict, { ok: false }>,
): FastifyReply {
  const seconds = Math.ceil(limit.retryAfterMs / 1000);
  const who = limit.scope === 'peer' ? 'from this address' : 'to this server';
  return reply
    .code(429)
    .header('retry-after', String(seconds))
    .send({
      error: {
        code: 'E_UI_SIGN_IN_LIMIT',
        message: `too many sign-in attempts ${who}: try again in ${seconds} s`,
      },
    });
}

/**
 * The address a sign-in came from, as the socket says (no forwarding header is believed: any
 * client can write one). IPv4 in IPv6 form counts as IPv4; an IPv6 address by its /64, which
 * one machine is usually handed whole.
 */
function peerAddress(req: FastifyRequest): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1]!;
  if (!address.includes(':')) return address;
  return expandIpv6(address).slice(0, 4).join(':') + '::/64';
}

/** The eight groups of an IPv6 address ("::" filled in; a zone index dropped). */
function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill =
    tail === undefined ? [] : Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...fill, ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

/** Which role a presented token gives, compared in constant time; null for neither. */
function tokenRoles(tokens: UiDeps['tokens']): (presented: string) => UiRole | null {
  return (presented) => {
    if (sameSecret(presented, tokens.admin)) return 'admin';
    if (tokens.readOnly !== undefined && sameSecret(presented, tokens.readOnly)) return 'read-only';
    return null;
  };
}

// Both sides hashed first: equal lengths for timingSafeEqual, and the time taken says nothing
// of how much of a guess was right.
const KEY = randomBytes(32);
function sameSecret(presented: string, expected: string): boolean {
  const a = createHmac('sha256', KEY).update(presented).digest();
  const b = createHmac('sha256', KEY).update(expected).digest();
  return timingSafeEqual(a, b);
}
