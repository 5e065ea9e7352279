/**
 * The edge's codes (HAProxy in front of fleets: core/traffic, adapters/haproxy), in a file of
 * their own to keep error-codes.ts readable. Listed in ERROR_CODES as `edge`.
 */
export const EDGE_ERROR_CODES = [
  /** The edge state (a name, an address, a weight, two fleets on one listen) is refused before anything changes. */
  'E_EDGE_INVALID',
  /** The haproxy binary is not installed (scripts/setup installs Debian's). */
  'E_EDGE_MISSING',
  /** The run folder (config, sockets, pid) is a symlink, not ours, or open to others. */
  'E_EDGE_UNSAFE',
  /** `haproxy -c` rejected a rendered configuration: it is not written. */
  'E_EDGE_CONFIG',
  /** HAProxy exited, or did not answer on its socket, while starting. */
  'E_EDGE_START',
  /** HAProxy kept its old worker: the new configuration did not load (a listen taken). */
  'E_EDGE_RELOAD',
  /** The admin or master socket is not there, or refuses the connection. */
  'E_EDGE_UNREACHABLE',
  /** No complete answer within the deadline. */
  'E_EDGE_TIMEOUT',
  /** An answer over its size bound. */
  'E_EDGE_TOO_LARGE',
  /** HAProxy answered a Runtime API command with an error. */
  'E_EDGE_REFUSED',
  /** An answer that is not what HAProxy 2.6 prints (fields, numbers, names). */
  'E_EDGE_PROTOCOL',
  /** The supervisor was stopped: it starts nothing more. */
  'E_EDGE_STOPPED',
] as const;
