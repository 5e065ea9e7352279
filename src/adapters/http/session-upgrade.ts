import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  SESSION_PROTOCOL,
  parseSessionQuery,
  type SessionRequest,
} from '../../core/session/request.js';
import { isIngotError } from '../../domain/errors.js';
import type { SessionAttach } from '../../ports/instance-hosts.js';
import { systemFault } from '../shared/system-fault.js';
import type { ConnectionGuard } from './connection-guard.js';
import { STATUS } from './status.js';

export interface SessionUpgrades {
  /** The path of a session, the instance id captured (`/v1/…/instances/ID/debug/session`). */
  readonly path: RegExp;
  /** Why the request is refused (401, with `unauthorized`), or null when its credential holds. */
  authorize(req: IncomingMessage): string | null;
  readonly unauthorized: 'E_UNAUTHORIZED' | 'E_CLUSTER_CALL';
  /** Open the session (every refusal an IngotError, before anything is sent). */
  open(id: string, request: SessionRequest, req: IncomingMessage): Promise<SessionAttach>;
}

/**
 * Break-glass sessions as HTTP upgrades on `server`: the request is checked like any other
 * (credential, then path and query, as hostile as a body), the session opened, and only
 * then does the connection switch to frames. A refusal is a plain HTTP answer with the
 * API's error body, so a client reports it with its code.
 */
export function serveSessionUpgrades(
  server: Server,
  sessions: SessionUpgrades,
  guard: ConnectionGuard,
  onError: (err: unknown) => void,
): void {
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    // The server's sockets may be half open; a session's is not: a client that ended its side
    // has gone (its input's end is a frame of its own).
    socket.once('end', () => socket.destroy());
    upgrade(req, socket, head, sessions, guard).catch((err: unknown) => {
      const fault = systemFault(err) ?? err;
      if (isIngotError(fault))
        return refuse(socket, STATUS[fault.code] ?? 500, fault.code, fault.message);
      onError(err);
      refuse(socket, 500, 'E_INTERNAL', 'internal error (see the log)');
    });
  });
}

async function upgrade(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  sessions: SessionUpgrades,
  guard: ConnectionGuard,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://session');
  const id = sessions.path.exec(url.pathname)?.[1];
  if (id === undefined) return refuse(socket, 404, 'E_REQUEST', `no session at ${url.pathname}`);
  if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== SESSION_PROTOCOL)
    return refuse(socket, 400, 'E_REQUEST', `a session is GET with Upgrade: ${SESSION_PROTOCOL}`);
  const refusal = sessions.authorize(req);
  if (refusal !== null) return refuse(socket, 401, sessions.unauthorized, refusal);
  // Proven now: opening the session may take a while (a relay to its host), and the guard
  // must not cut it meanwhile. The session's connection stays as long as the session.
  guard.prove(socket);
  socket.setTimeout(0);
  const parsed = parseSessionQuery(url.searchParams);
  if (!parsed.ok) return refuse(socket, 400, 'E_DEBUG_INVALID', parsed.message);
  let instance: string;
  try {
    instance = decodeURIComponent(id);
  } catch {
    return refuse(socket, 400, 'E_REQUEST', 'the instance id is not percent-encoded text');
  }
  const attach = await sessions.open(instance, parsed.request, req);
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${SESSION_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`,
  );
  if (head.length > 0) socket.unshift(head);
  // Handed over even if the client has gone meanwhile: the session then ends at once.
  attach(socket);
}

function refuse(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Refused'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
