import { BACKEND_ROLES, listenOf, type Edge, type EdgeServer } from './edge.js';
import { EdgeError, quoteForMessage } from './errors.js';
import { backendName, frontendName } from './names.js';
import { assertEdge, type ValidateOptions } from './validate.js';

/** Where the running HAProxy keeps what Ingot talks to it through. */
export interface EdgePaths {
  /** The Runtime API (admin level): only its owner may connect (mode 600). */
  readonly adminSocket: string;
  readonly pidFile: string;
}

export interface RenderOptions extends ValidateOptions {
  /**
   * How long a worker replaced by a reload (or told to stop softly) may go on finishing its
   * requests before it is stopped: without a bound, one slow client keeps an old worker, and
   * its old servers, alive forever.
   */
  readonly hardStopAfterMs?: number;
  /** Run the workers (which parse clients' requests) as these ids instead of root. */
  readonly runAs?: { readonly uid: number; readonly gid: number };
}

/** The timeouts of every proxy, chosen for HTTP services on a local network. */
const DEFAULTS = [
  'mode http',
  // A connection refused by an instance that just went away is retried on another one, so a
  // stop that races a request costs the client nothing.
  'option redispatch',
  'retries 3',
  // On a reload, the old worker answers the next request of each idle keep-alive connection
  // with "Connection: close" instead of closing it under a client about to send one.
  'option idle-close-on-response',
  'timeout connect 2s',
  'timeout queue 5s',
  // Slowloris: a request's headers must arrive within 10 s.
  'timeout http-request 10s',
  'timeout http-keep-alive 10s',
  'timeout client 30s',
  'timeout server 30s',
];

/**
 * The whole haproxy.cfg for `edge`: one frontend and one backend per listen, every server
 * Ingot wants declared with its weight and state, so that a reload or a restart starts from
 * the state itself (servers added over the Runtime API alone vanish on reload). Health is
 * Ingot's to judge, so no server has `check`: a server is in or out because Ingot said so.
 *
 * A pure function of its inputs (same edge, same text), and safe against hostile names:
 * the edge is validated first, and every name and address that reaches the text matched
 * a pattern that cannot hold a space, a quote or a newline.
 */
export function renderConfig(edge: Edge, paths: EdgePaths, options: RenderOptions = {}): string {
  assertEdge(edge, options);
  const lines = [
    '# Rendered by Ingot from its state: edits here are overwritten.',
    ...globalSection(paths, options),
    '',
    'defaults',
    ...DEFAULTS.map((l) => `  ${l}`),
  ];
  const fleets = [...edge.fleets].sort((a, b) => compare(a.fleet, b.fleet));
  for (const fleet of fleets) {
    for (const role of BACKEND_ROLES) {
      const listen = listenOf(fleet, role);
      if (listen === undefined) continue;
      const backend = backendName(fleet.fleet, role);
      lines.push('', `frontend ${frontendName(fleet.fleet, role)}`);
      lines.push(`  bind ${listen}`, `  default_backend ${backend}`);
      // Requests are balanced one by one (keep-alive connections too), by weight.
      lines.push('', `backend ${backend}`, '  balance roundrobin');
      const servers = [...fleet.backends[role]].sort((a, b) => compare(a.instance, b.instance));
      for (const server of servers) lines.push(`  ${serverLine(server)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function globalSection(paths: EdgePaths, options: RenderOptions): string[] {
  const hardStop = options.hardStopAfterMs ?? 30_000;
  if (!Number.isInteger(hardStop) || hardStop < 1 || hardStop > 3_600_000)
    throw new EdgeError('E_EDGE_INVALID', 'hardStopAfterMs must be a whole number of ms up to 1 h');
  const lines = [
    'global',
    '  master-worker',
    // expose-fd listeners: another HAProxy may take the listening sockets over (-x) instead
    // of binding them again. In master-worker mode the master passes them to a reloaded
    // worker as well (reloads measured without it lost no connection either): belt and braces.
    `  stats socket ${quotePath(paths.adminSocket, true)} mode 600 level admin expose-fd listeners`,
    '  stats timeout 30s',
    `  pidfile ${quotePath(paths.pidFile, false)}`,
    `  hard-stop-after ${hardStop}ms`,
  ];
  if (options.runAs !== undefined) {
    const { uid, gid } = options.runAs;
    for (const id of [uid, gid])
      if (!Number.isInteger(id) || id < 0 || id > 4_294_967_294)
        throw new EdgeError('E_EDGE_INVALID', `runAs ids must be whole numbers, got ${id}`);
    lines.push(`  uid ${uid}`, `  gid ${gid}`);
  }
  return lines;
}

/**
 * A server as HAProxy reads it. Drain has no configuration keyword: a draining server is
 * written `disabled` (maintenance), which for a freshly loaded worker is the same (no new
 * requests; the old worker keeps the connections it had), and keeps its weight for a later
 * `state ready`.
 */
function serverLine(s: EdgeServer): string {
  const disabled = s.state === 'ready' ? '' : ' disabled';
  return `server ${s.instance} ${s.address}:${s.port} weight ${s.weight}${disabled}`;
}

/** Unix sockets' paths are bounded by sun_path (108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * A path in single quotes, where HAProxy expands nothing ("$VAR" stays text, "#" is no
 * comment). A path that holds a quote or a control character cannot be written so, and is
 * refused: the threat is a run folder named to inject configuration lines.
 */
function quotePath(path: string, socket: boolean): string {
  const bytes = new TextEncoder().encode(path).length;
  // eslint-disable-next-line no-control-regex
  if (!path.startsWith('/') || /[\u0000-\u001f\u007f']/.test(path) || bytes > 4096)
    throw new EdgeError(
      'E_EDGE_INVALID',
      `${quoteForMessage(path)} cannot be a path in haproxy.cfg: it must be absolute, without quotes or control characters`,
    );
  if (socket && bytes > MAX_SOCKET_PATH)
    throw new EdgeError(
      'E_EDGE_INVALID',
      `${quoteForMessage(path)} is too long for a unix socket (at most ${MAX_SOCKET_PATH} bytes): use a shorter run folder`,
    );
  return `'${path}'`;
}

/** Code-unit order: the same on every machine and locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
