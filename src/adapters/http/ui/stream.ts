import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IngotError } from '../../../domain/errors.js';
import type { Feed } from './feed.js';
import { SECURITY_HEADERS } from './headers.js';

/** How to end each open stream (at server stop). */
export type Streams = Set<() => void>;

/**
 * Streams the whole server holds at most, whatever the sessions: each is a connection the
 * connection guard counts as proven for life, so without a bound far under its limit a
 * read-only user's sessions could take every slot and lock the owner and agents out.
 */
export const MAX_STREAMS = 32;

/**
 * What a stream may have queued and unread: a client that stops reading (a suspended laptop,
 * or on purpose) would otherwise make the server hold a copy of the fleets every 500 ms.
 */
const MAX_QUEUED_BYTES = 1024 * 1024;

interface StreamDeps<S> {
  /** The request's session, or a throw (E_UI_SESSION). */
  readonly signed: (req: FastifyRequest) => S;
  /** Still signed in: checked at every heartbeat, and the stream ends when not. */
  readonly alive: (session: S) => boolean;
  /** One of the session's stream slots; false when all are taken. */
  readonly take: (session: S) => boolean;
  readonly release: (session: S) => void;
  /** The feed this session is sent (what its role may see). */
  readonly feedOf: (session: S) => Feed;
  readonly streams: Streams;
  readonly now: () => number;
  readonly heartbeatMs: number;
}

/**
 * GET /ui/events: server-sent events. Each change of the fleets' view is one `fleets` event
 * (JSON has no raw newline, so a value cannot break the framing); a comment line every
 * heartbeat keeps the connection alive and is where a signed-out or expired session is
 * noticed. A session holds a bounded number of streams: each is a connection, and the
 * server's connections are descriptors its agent needs (issue 15).
 */
export function serveEvents<S>(ui: FastifyInstance, deps: StreamDeps<S>): void {
  ui.get('/events', async (req, reply) => {
    const session = deps.signed(req);
    if (deps.streams.size >= MAX_STREAMS)
      throw new IngotError('E_UI_STREAMS', 'the server has as many event streams open as it may');
    if (!deps.take(session))
      throw new IngotError('E_UI_STREAMS', 'this session has as many event streams open as it may');
    void reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // No proxy in between may hold the events back.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      unsubscribe();
      clearInterval(heartbeat);
      deps.streams.delete(end);
      deps.release(session);
      res.end();
    };
    const send = (text: string) => {
      // The page reconnects and starts from the current view: nothing is lost by ending.
      if (res.writableLength > MAX_QUEUED_BYTES) end();
      else res.write(text);
    };
    deps.streams.add(end);
    const unsubscribe = deps.feedOf(session).subscribe((json) => {
      send(`event: fleets\ndata: {"at":${deps.now()},"fleets":${json}}\n\n`);
    });
    const heartbeat = setInterval(() => {
      if (!deps.alive(session)) {
        // The page reconnects, gets 401 and shows the sign-in form again.
        send('event: signed-out\ndata: {}\n\n');
        end();
        return;
      }
      send(': keep-alive\n\n');
    }, deps.heartbeatMs);
    heartbeat.unref();
    req.raw.socket.once('close', end);
    res.once('close', end);
  });
}
