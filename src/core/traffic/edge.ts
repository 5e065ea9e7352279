/**
 * The edge as Ingot wants it (and as it reads it back from HAProxy): for every fleet with a
 * service, where its clients connect and the instances behind it. Ingot's state is the source
 * of truth; HAProxy's configuration and runtime are derived from this, never the other way.
 */

/**
 * What HAProxy may do with a server. Ingot decides readiness (health, minReadySeconds), so
 * these are set from outside, never by HAProxy's own checks:
 * - ready: takes requests in proportion to its weight;
 * - drain: takes no new requests, finishes those it has (before a stop);
 * - maint: takes nothing (not ready yet, or about to be removed).
 */
export const SERVER_STATES = ['ready', 'drain', 'maint'] as const;
export type ServerState = (typeof SERVER_STATES)[number];

/** HAProxy's own bound on a server's weight. */
export const MAX_WEIGHT = 256;

/** One instance behind a listen. */
export interface EdgeServer {
  /** The instance id: the server's name in HAProxy. */
  readonly instance: string;
  /** Its IPv4 address (on the instances' bridge, or another host's). */
  readonly address: string;
  readonly port: number;
  /** 0–256, relative to the other servers of its backend. */
  readonly weight: number;
  readonly state: ServerState;
}

/** `service:` of a fleet: the instance port and where clients connect ("ip:port"). */
export interface EdgeService {
  readonly port: number;
  readonly listen: string;
  /** Blue-green: where the preview release answers before promotion. */
  readonly previewListen?: string;
}

export interface EdgeFleet {
  /** The fleet's name: part of HAProxy's proxy names. */
  readonly fleet: string;
  readonly service: EdgeService;
  /** `live` serves `listen`; `preview` serves `previewListen` (empty without one). */
  readonly backends: {
    readonly live: readonly EdgeServer[];
    readonly preview: readonly EdgeServer[];
  };
}

export interface Edge {
  readonly fleets: readonly EdgeFleet[];
}

/** Which listen of a fleet a backend serves. */
export type BackendRole = keyof EdgeFleet['backends'];
export const BACKEND_ROLES: readonly BackendRole[] = ['live', 'preview'];

/**
 * Bounds on what one edge may hold, so that a runaway state (or a hostile one) cannot make a
 * configuration HAProxy chokes on or a plan that takes minutes to send.
 */
export const EDGE_LIMITS = {
  fleets: 1_000,
  serversPerBackend: 20_000,
  servers: 50_000,
} as const;

/** The listen of a backend, or undefined (a preview backend without previewListen). */
export function listenOf(fleet: EdgeFleet, role: BackendRole): string | undefined {
  return role === 'live' ? fleet.service.listen : fleet.service.previewListen;
}
