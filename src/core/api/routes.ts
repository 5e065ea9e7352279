import * as z from 'zod';
import {
  changeQuery,
  fleetPlan,
  fleetRecord,
  fleetView,
  historyPageAnswer,
  historyQuery,
  promoteRequest,
  releaseAtAnswer,
  releasePageAnswer,
  releasesQuery,
  rollbackRequest,
} from './fleets.js';
import { hostsAnswer } from './hosts.js';
import {
  debugClosed,
  debugRequest,
  instanceLogs,
  logsQuery,
  observedInstance,
  previousInstance,
  verifiedRootfs,
} from './instances.js';
import { storedCheckpoint } from './ledger.js';
import { ok, serverHealth, shutdownRequest } from './server.js';

/** A query string that names at most one fleet. */
const fleetQuery = z.object({ fleet: z.string({ error: 'one name' }).exactOptional() });

/**
 * The HTTP API, one entry per route: its method, its path (`:name` is a path parameter), the
 * schema of its body and query, and the schema of its answer. The server's routes and the
 * CLI's calls are both made from this table, so a shape is declared once; the OpenAPI
 * document will be generated from it. Bodies are parsed by the service that handles them,
 * each with its own error code; answers are parsed by the client.
 */
export const routes = {
  health: { method: 'GET', path: '/healthz', response: serverHealth },
  fleets: { method: 'GET', path: '/v1/fleets', response: z.array(fleetView) },
  /** The body is fleet.yaml as JSON; the server validates it (E_FLEET_INVALID). */
  deploy: {
    method: 'POST',
    path: '/v1/fleets',
    body: z.unknown(),
    query: changeQuery,
    response: fleetRecord,
  },
  /**
   * What deploying the body (fleet.yaml as JSON) would change and do: the deploy's own checks
   * and error codes, then the release diff and the planner's starts, stops and stays. Writes
   * nothing.
   */
  plan: { method: 'POST', path: '/v1/fleets/plan', body: z.unknown(), response: fleetPlan },
  rollback: {
    method: 'POST',
    path: '/v1/fleets/:name/rollback',
    body: rollbackRequest,
    query: changeQuery,
    response: fleetRecord,
  },
  promote: {
    method: 'POST',
    path: '/v1/fleets/:name/promote',
    body: promoteRequest,
    query: changeQuery,
    response: fleetRecord,
  },
  /** The rollout in progress takes no further step until resumed (E_PAUSE_NONE if none). */
  pause: {
    method: 'POST',
    path: '/v1/fleets/:name/pause',
    query: changeQuery,
    response: fleetRecord,
  },
  resume: {
    method: 'POST',
    path: '/v1/fleets/:name/resume',
    query: changeQuery,
    response: fleetRecord,
  },
  /** The rollout in progress ends: back to the last stable release (E_ABORT_NONE if none). */
  abort: {
    method: 'POST',
    path: '/v1/fleets/:name/abort',
    query: changeQuery,
    response: fleetRecord,
  },
  /**
   * The fleet's releases, newest first, numbered from 1 in the order they were made: one page
   * of at most `limit` (default 50, at most 100), each numbered below `before`; the answer's
   * `next` is the `before` of the page after (null: none). E_FLEET_NOT_FOUND.
   */
  releases: {
    method: 'GET',
    path: '/v1/fleets/:name/releases',
    query: releasesQuery,
    response: releasePageAnswer,
  },
  /**
   * One release, by number (`3`) or digest (`sha256:…`), and the release made before it, for
   * the diff. E_RELEASE_NOT_FOUND (E_FLEET_NOT_FOUND when the fleet is not there).
   */
  release: {
    method: 'GET',
    path: '/v1/fleets/:name/releases/:release',
    response: releaseAtAnswer,
  },
  /**
   * The fleets' history (or `fleet`'s), newest first: one page of at most `limit` lines
   * (default 50, at most 500), each with a seq below `before`; the answer's `next` is the
   * `before` of the page after (null: none). `subject` (with `fleet`): only the lines that name
   * that digest (a release, an artifact) or instance id.
   */
  history: {
    method: 'GET',
    path: '/v1/history',
    query: historyQuery,
    response: historyPageAnswer,
  },
  /** Instances with their integrity evidence. */
  drift: {
    method: 'GET',
    path: '/v1/drift',
    query: fleetQuery,
    response: z.array(observedInstance),
  },
  verifyInstances: {
    method: 'POST',
    path: '/v1/verify-instances',
    response: z.array(verifiedRootfs),
  },
  openDebug: {
    method: 'POST',
    path: '/v1/instances/:id/debug',
    body: debugRequest,
    response: observedInstance,
  },
  closeDebug: {
    method: 'POST',
    path: '/v1/instances/:id/debug/close',
    response: debugClosed,
  },
  /** What an instance wrote to stdout and stderr, read on its host. */
  logs: {
    method: 'GET',
    path: '/v1/instances/:id/logs',
    query: logsQuery,
    response: instanceLogs,
  },
  /** The output and exit of an instance whose process exited, kept on its host. */
  previousLogs: {
    method: 'GET',
    path: '/v1/instances/:id/previous',
    response: previousInstance,
  },
  /** Sign a checkpoint over the ledger as it is now; answers the latest. */
  checkpoint: {
    method: 'POST',
    path: '/v1/ledger/checkpoint',
    response: storedCheckpoint.nullable(),
  },
  /**
   * The whole ledger in the export format (JSON Lines, as one string), so that a client far
   * from the database audits it itself: entries, proofs and signatures are checked on the
   * client, against the verifier key it holds.
   */
  ledgerExport: { method: 'GET', path: '/v1/ledger/export', response: z.string() },
  shutdown: { method: 'POST', path: '/v1/shutdown', body: shutdownRequest, response: ok },
  /** Every host with its capacity, what is used of it, and its agent's heartbeat; the leader. */
  hosts: { method: 'GET', path: '/v1/hosts', response: hostsAnswer },
} as const satisfies Record<string, RouteSpec>;

export interface RouteSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: z.ZodType;
  readonly query?: z.ZodType;
  readonly response: z.ZodType;
}

export type Routes = typeof routes;
export type RouteName = keyof Routes;

/** The `:param` names of a path, as a union. */
export type ParamNames<P extends string> = P extends `${string}:${infer N}/${infer Rest}`
  ? N | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer N}`
    ? N
    : never;

export type ParamsOf<R extends RouteSpec> = Record<ParamNames<R['path']>, string>;
export type QueryOf<R extends RouteSpec> = R extends { query: z.ZodType }
  ? z.output<R['query']>
  : Record<string, never>;
/** What a client sends: the body's input shape (defaults may be left out). */
export type BodyOf<R extends RouteSpec> = R extends { body: z.ZodType }
  ? z.input<R['body']>
  : undefined;
export type ResponseOf<R extends RouteSpec> = z.output<R['response']>;

/** Who sent a request, as the server established it: never what the request claims. */
export interface Caller {
  /** The credential that authenticated the request (e.g. "admin token"). */
  readonly credential: string;
  /** The local user owning the client's end of the connection, as the kernel records it. */
  readonly uid?: number;
  readonly user?: string;
}

/** A request as the server hands it to its handler: the body is still untrusted. */
export interface ApiRequest<R extends RouteSpec> {
  readonly params: ParamsOf<R>;
  readonly query: QueryOf<R>;
  readonly body: unknown;
  /** Who sent it (looked up when asked: it reads the kernel's connection table). */
  readonly caller: () => Caller;
}

/** The use cases behind the routes, one per route, typed by the table. */
export type ApiHandlers = {
  readonly [K in RouteName]: (request: ApiRequest<Routes[K]>) => Promise<ResponseOf<Routes[K]>>;
};

/** A route's path with its parameters filled in (each encoded). */
export function pathOf<R extends RouteSpec>(route: R, params: ParamsOf<R>): string {
  return route.path.replace(/:([a-z]+)/g, (_, name: string) =>
    encodeURIComponent((params as Record<string, string>)[name] ?? ''),
  );
}
