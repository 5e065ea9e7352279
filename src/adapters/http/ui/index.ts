import type { FastifyInstance } from 'fastify';
import type { ApiHandlers } from '../../../core/api/routes.js';
import { uiFleet } from '../../../core/ui/fleet-view.js';
import type { ConnectionGuard } from '../connection-guard.js';
import { arrivedLocally } from '../local-socket.js';
import { peerUser, socketOwner } from '../peer.js';
import type { UiAssets } from './assets.js';
import { serveUi, UI_PREFIX } from './routes.js';

export { loadUiAssets, type UiAssets } from './assets.js';
export { CSRF_HEADER, UI_PREFIX } from './routes.js';

/** What a server gives its API to serve the dashboard. */
export interface UiOptions {
  /** The built dashboard (loadUiAssets); null: answer that there is none. */
  readonly assets: UiAssets | null;
  /** A second token that signs in to look only (`ui-readonly-token` in the home). */
  readonly readOnlyToken?: string;
  /** For tests: how often an open stream's view is read, and the heartbeat. */
  readonly pollMs?: number;
  readonly heartbeatMs?: number;
}

/** Whether a route is the dashboard's, which authenticates its own callers. */
export const isUiRoute = (url: string | undefined): boolean =>
  url !== undefined && (url === UI_PREFIX || url.startsWith(`${UI_PREFIX}/`));

/** The dashboard on the API's address, on the same use cases as the API's routes. */
export function serveDashboard(
  app: FastifyInstance,
  token: string,
  handlers: Pick<ApiHandlers, 'fleets' | 'promote'>,
  guard: ConnectionGuard,
  options: UiOptions,
): void {
  const streamCaller = () => ({ credential: 'dashboard stream', ...socketOwner() });
  serveUi(app, {
    assets: options.assets,
    tokens: {
      admin: token,
      ...(options.readOnlyToken !== undefined && { readOnly: options.readOnlyToken }),
    },
    fleets: async () =>
      (await handlers.fleets({ params: {}, query: {}, body: undefined, caller: streamCaller })).map(
        uiFleet,
      ),
    promote: (name, body, caller) =>
      handlers.promote({ params: { name }, query: {}, body, caller: () => caller }),
    peer: (socket) => (arrivedLocally(socket) ? socketOwner() : peerUser(socket)),
    prove: (socket) => guard.prove(socket),
    now: () => Date.now(),
    ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
    ...(options.heartbeatMs !== undefined && { heartbeatMs: options.heartbeatMs }),
    failed: (err) => app.log.error({ err }, 'the dashboard could not read the fleets'),
  });
}
