import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { IngotError } from '../../domain/errors.js';
import { API_TIMEOUTS } from './timeouts.js';

/** Connections accepted on a local socket: their peer is its owner (see `socketOwner`). */
const accepted = new WeakSet<object>();

/** Whether a request's connection came through the 0600 local socket rather than TCP. */
export function arrivedLocally(socket: object): boolean {
  return accepted.has(socket);
}

export interface LocalApi {
  /** The socket's path, for server.json. */
  readonly path: string;
  close(): Promise<void>;
}

/**
 * The same API on a Unix socket only this user can open: a 0600 socket in a 0700 folder.
 * The TCP port takes anybody's connections before any token (a local user flooded it,
 * issue 15); the CLI uses this socket when there is one, so that no other user can crowd
 * it out. The token is still required on it. Call after the API is ready (listening).
 */
export async function listenLocal(app: FastifyInstance, path: string): Promise<LocalApi> {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  // The folder, not the socket's own mode, is what keeps others out from the first moment.
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0)
    throw new IngotError(
      'E_SERVER_START',
      `${dir} must be a folder only this user can open (mode 0700)`,
    );
  // A socket left by a server that died (the home's claim says none other runs); anything
  // else there is not ours to remove.
  try {
    if (lstatSync(path).isSocket()) rmSync(path);
  } catch {
    // nothing there
  }
  const server: Server = createServer(
    {
      headersTimeout: API_TIMEOUTS.headersMs,
      requestTimeout: API_TIMEOUTS.requestMs,
      connectionsCheckingInterval: API_TIMEOUTS.checkEveryMs,
    },
    (req, res) => app.routing(req, res),
  );
  server.keepAliveTimeout = API_TIMEOUTS.keepAliveMs;
  server.on('connection', (sock) => accepted.add(sock));
  // Break-glass sessions (HTTP upgrades) are the API's too, checked by the same handler.
  server.on('upgrade', (req, socket, head) => {
    if (app.server.listenerCount('upgrade') > 0) app.server.emit('upgrade', req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          rmSync(path, { force: true });
          resolve();
        });
        // Idle keep-alive connections would hold the close up; busy ones finish first.
        server.closeIdleConnections();
      }),
  };
}
