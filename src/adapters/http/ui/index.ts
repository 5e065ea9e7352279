import type { FastifyInstance } from 'fastify';
import type { ApiHandlers } from '../../../core/api/routes.js';
import type { NumberedRelease } from '../../../core/fleet/record.js';
import type { EntryQuery } from '../../../core/ledger/entry-query.js';
import type { LedgerEntry } from '../../../core/ledger/entry.js';
import type { Digest } from '../../../domain/digest.js';
import type { SignInLimits } from '../../../core/ui/sign-in-limit.js';
import { uiFleet } from '../../../core/ui/fleet-view.js';
import type { ConnectionGuard } from '../connection-guard.js';
import { arrivedLocally } from '../local-socket.js';
import { peerUser, socketOwner } from '../peer.js';
import type { UiAssets } from './assets.js';
import type { EvidenceDeps } from './evidence-routes.js';
import { serveUi, UI_PREFIX } from './routes.js';

export { loadUiAssets, type UiAssets } from './assets.js';
export { CSRF_HEADER, UI_PREFIX } from './routes.js';

/** What a server gives its API to serve the dashboard. */
export interface UiOptions {
  /** The built dashboard (loadUiAssets); null: answer that there is none. */
  readonly assets: UiAssets | null;
  /** A second token that signs in to look only (`ui-readonly-token` in the home). */
  readonly readOnlyToken?: string;
  /**
   * What the releases and drift views read beside the API's routes: release records (for
   * their diffs) and ledger entries (drift evidence, replacements). Absent: those views show
   * the history and live instances only.
   */
  readonly records?: {
    readonly release: (digest: Digest) => Promise<NumberedRelease | null>;
    readonly entries: (query: EntryQuery) => Promise<LedgerEntry[]>;
  };
  /** The ledger and the artifacts for the evidence views (the hosts come from the API's use case). */
  readonly evidence?: Omit<EvidenceDeps, 'hosts'>;
  /** For tests: how often an open stream's view is read, and the heartbeat. */
  readonly pollMs?: number;
  readonly heartbeatMs?: number;
  /** For tests: how often sign-in may be tried (default SIGN_IN_LIMITS). */
  readonly signInLimits?: SignInLimits;
}

/** Whether a route is the dashboard's, which authenticates its own callers. */
export const isUiRoute = (url: string | undefined): boolean =>
  url !== undefined && (url === UI_PREFIX || url.startsWith(`${UI_PREFIX}/`));

/** The dashboard on the API's address, on the same use cases as the API's routes. */
export function serveDashboard(
  app: FastifyInstance,
  token: string,
  handlers: Pick<
    ApiHandlers,
    'fleets' | 'promote' | 'pause' | 'resume' | 'abort' | 'rollback' | 'history' | 'logs'
  > &
    Partial<Pick<ApiHandlers, 'hosts'>>,
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
    promote: (name, body, caller, reason) =>
      handlers.promote({
        params: { name },
        query: reason === undefined ? {} : { reason },
        body,
        caller: () => caller,
      }),
    ops: {
      // The API's own handlers, as its routes call them: same checks, same records.
      act: (action, name, caller, reason) =>
        handlers[action]({
          params: { name },
          query: reason === undefined ? {} : { reason },
          body: {},
          caller: () => caller,
        }),
      // The API answers with RFC 3339 times; the page's views count in milliseconds.
      history: async (fleet, limit) => {
        const page = await handlers.history({
          params: {},
          query: { fleet, limit },
          body: undefined,
          caller: streamCaller,
        });
        return {
          lines: page.history.map((e) => ({ ...e, time: Date.parse(e.time) })),
          older: page.next !== null,
        };
      },
      release: (digest) => options.records?.release(digest) ?? Promise.resolve(null),
      ledger: (query) => options.records?.entries(query) ?? Promise.resolve([]),
      instances: async (fleet) =>
        (
          await handlers.fleets({ params: {}, query: {}, body: undefined, caller: streamCaller })
        ).find((f) => f.name === fleet)?.instances ?? [],
      logs: (id) =>
        handlers.logs({ params: { id }, query: {}, body: undefined, caller: streamCaller }),
    },
    peer: (socket) => (arrivedLocally(socket) ? socketOwner() : peerUser(socket)),
    prove: (socket) => guard.prove(socket),
    now: () => Date.now(),
    ...(options.evidence !== undefined &&
      handlers.hosts !== undefined && {
        evidence: {
          ...options.evidence,
          hosts: () =>
            handlers.hosts!({ params: {}, query: {}, body: undefined, caller: streamCaller }),
        },
      }),
    ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
    ...(options.heartbeatMs !== undefined && { heartbeatMs: options.heartbeatMs }),
    ...(options.signInLimits !== undefined && { signInLimits: options.signInLimits }),
    failed: (err) => app.log.error({ err }, 'the dashboard could not read the fleets'),
  });
}
