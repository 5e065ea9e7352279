import { ERROR_CODES, type CodesOf, type ErrorModule } from '../../domain/error-codes.js';
import type { ErrorCode } from '../../domain/errors.js';

/** Every code of a module at one status. */
function all<M extends ErrorModule>(module: M, status: number): Record<CodesOf<M>, number> {
  return Object.fromEntries(ERROR_CODES[module].map((c) => [c, status])) as Record<
    CodesOf<M>,
    number
  >;
}

/**
 * The HTTP status of every error code. Only this adapter knows them. A code a client
 * caused says so (4xx); anything else is the server's (500), and a new code does not
 * compile until it is given its status here.
 */
export const STATUS: Record<ErrorCode, number> = {
  // What a request can run into: bad input, missing things, moves that cannot be made.
  ...all('usage', 400),
  ...all('client', 500),
  ...all('http', 500),
  // The CLI's own file: it never reaches a server.
  ...all('context', 500),
  E_REQUEST: 400,
  E_UNAUTHORIZED: 401,
  E_UI_SESSION: 401,
  E_UI_CSRF: 403,
  E_UI_READ_ONLY: 403,
  E_UI_STREAMS: 429,
  E_UI_NOT_BUILT: 503,
  E_UI_SIGN_IN_LIMIT: 429,
  ...all('digest', 400),
  ...all('store', 500),
  E_TAG_INVALID: 400,
  E_BLOB_TOO_LARGE: 400,
  E_REF_NOT_FOUND: 404,
  E_REF_AMBIGUOUS: 409,
  ...all('fleet', 500),
  E_FLEET_INVALID: 400,
  E_FLEET_UNRUNNABLE: 400,
  E_FLEET_ENCODING: 400,
  E_DEPLOY_REFUSED: 403,
  E_FLEET_NOT_FOUND: 404,
  E_RELEASE_NOT_FOUND: 404,
  E_FLEET_CONFLICT: 409,
  E_CAPACITY: 409,
  E_ROLLBACK_NONE: 409,
  E_PROMOTE_NONE: 409,
  E_PAUSE_NONE: 409,
  E_RESUME_NONE: 409,
  E_ABORT_NONE: 409,
  ...all('agent', 500),
  E_INSTANCE_NOT_FOUND: 404,
  E_PREVIOUS_NOT_FOUND: 404,
  E_DEBUG_INVALID: 400,
  E_DEBUG_HELD: 409,
  E_DEBUG_NOT_OPEN: 409,
  ...all('artifact', 500),
  E_NOT_AN_IMAGE: 400,
  // Raised by the build, the CLI, the host or the ledger on their own: if one reaches a
  // response, the server failed.
  ...all('source', 500),
  ...all('layer', 500),
  ...all('baseImage', 500),
  ...all('baseline', 500),
  ...all('build', 500),
  ...all('attestation', 500),
  ...all('key', 500),
  ...all('policy', 500),
  ...all('rebuild', 500),
  ...all('host', 500),
  ...all('rootfs', 500),
  ...all('rootfsVerify', 500),
  ...all('ledger', 500),
  // Asked by the dashboard for one entry's proof: no such entry, or not signed for yet.
  E_LEDGER_RANGE: 404,
  E_LEDGER_UNANCHORED: 409,
  ...all('server', 500),
  // The CLI's own: it never reaches a server.
  ...all('home', 500),
  // A registry is reached only by the CLI and the agent; a reference or credentials typed
  // wrongly are the client's, anything the registry did is the server's to report.
  ...all('registry', 500),
  E_REGISTRY_REF_INVALID: 400,
  E_REGISTRY_HOST_INVALID: 400,
  E_REGISTRY_REPO_INVALID: 400,
  E_REGISTRY_TAG_INVALID: 400,
  E_REGISTRY_CREDENTIALS: 400,
  // Placement refuses what the control plane itself assembled: a fault of the server.
  ...all('placement', 500),
  // Coordination is the server's own business; when etcd has no quorum, or another server
  // leads, the request may succeed later or elsewhere.
  ...all('cluster', 500),
  E_CLUSTER_UNAVAILABLE: 503,
  E_CLUSTER_FENCED: 503,
  E_CLUSTER_JOIN: 401,
  E_CLUSTER_HOST_ONLY: 501,
  E_CLUSTER_HOST_UNREACHABLE: 502,
  E_CLUSTER_CALL: 401,
  ...all('storage', 500),
  E_DISK_FULL: 507,
  E_STATE_UNREACHABLE: 503,
  // Made by tests and scripts on one machine, never by a request.
  ...all('testbed', 500),
  // The edge is driven by the server from its own state; only a bad service asked for is the client's.
  ...all('edge', 500),
  E_EDGE_INVALID: 400,
};
