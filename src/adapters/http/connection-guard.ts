import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Connections held open at once, of every kind (each is a file descriptor). */
  readonly maxConnections: number;
  /** A connection that has not sent a request with the token by then is closed. */
  readonly unprovenMs: number;
}

export interface ConnectionGuard {
  /** The connection carried a request with the token: it may stay while it is used. */
  prove(socket: Socket): void;
  /** Connections open now (for tests and metrics). */
  count(): number;
}

/**
 * Bounds what a client without the token can hold. The API's port takes connections before
 * any token is seen: a local user with 20,000 idle connections took the server's file
 * descriptors, `spawn runc` failed with EMFILE and every instance was replaced (issue 15).
 *
 * - At most `maxConnections` are open; past it the oldest connection that has not proved
 *   itself, preferring one that has sent nothing, is closed to make room, so a flood cannot
 *   lock the owner out for long (refusing the newest instead would keep the flood's
 *   connections and refuse the owner's).
 * - A connection that has not carried the token within `unprovenMs` is closed, whether it
 *   is idle or busy with requests that lack the token.
 * Proved connections are bounded by the server's own keep-alive and request timeouts.
 */
export function guardConnections(server: Server, limits: ConnectionLimits): ConnectionGuard {
  const open = new Set<Socket>();
  // Insertion order is age: the first is the oldest.
  const unproven = new Map<Socket, NodeJS.Timeout>();
  const forget = (socket: Socket) => {
    const timer = unproven.get(socket);
    if (timer) clearTimeout(timer);
    unproven.delete(socket);
  };
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      forget(socket);
    });
    const timer = setTimeout(() => socket.destroy(), limits.unprovenMs);
    timer.unref();
    unproven.set(socket, timer);
    while (open.size > limits.maxConnections) {
      // All of them proved (the owner's own): the newcomer is the one turned away.
      const oldest = victim(unproven.keys(), socket);
      forget(oldest);
      open.delete(oldest);
      oldest.destroy();
      if (oldest === socket) break;
    }
  });
  return {
    prove: (socket) => forget(socket),
    count: () => open.size,
  };
}

/**
 * The connection to close: the oldest unproven one that has sent nothing yet, else the oldest
 * unproven one, else the newcomer. An idle flood sends nothing; the owner's connection has
 * sent its request, which a busy server may not have read to its token yet: closing it then
 * would reset the owner's request (seen when the machine was loaded).
 */
function victim(unproven: Iterable<Socket>, newcomer: Socket): Socket {
  let oldest: Socket | undefined;
  for (const socket of unproven) {
    oldest ??= socket;
    if (socket.bytesRead === 0) return socket;
  }
  return oldest ?? newcomer;
}
