import { listenProblem, parseIpv4 } from './address.js';
import {
  BACKEND_ROLES,
  EDGE_LIMITS,
  MAX_WEIGHT,
  SERVER_STATES,
  type Edge,
  type EdgeFleet,
  type EdgeServer,
} from './edge.js';
import { EdgeError, quoteForMessage } from './errors.js';
import { isEdgeName, NAME_RULE } from './names.js';

export interface EdgeProblem {
  /** Where, as a path into the edge: "fleets[2].backends.live[0].weight". */
  readonly path: string;
  readonly message: string;
}

export interface ValidateOptions {
  /**
   * This machine's addresses besides loopback, which a listen may use (the adapter reads
   * them from its interfaces; the core cannot). Empty: loopback only.
   */
  readonly localAddresses?: Iterable<string>;
}

/**
 * Every reason this edge cannot be rendered or planned, all at once (none: []). Whatever
 * the types say, values are checked again here: the edge is assembled from fleet files and
 * stored state, and whatever passes goes into a configuration file and onto an admin socket.
 */
export function validateEdge(edge: Edge, options: ValidateOptions = {}): EdgeProblem[] {
  const local = new Set(options.localAddresses ?? []);
  const problems: EdgeProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (edge.fleets.length > EDGE_LIMITS.fleets)
    add('fleets', `at most ${EDGE_LIMITS.fleets} fleets, got ${edge.fleets.length}`);
  const fleetAt = new Map<string, number>();
  const listenAt = new Map<string, string>();
  let servers = 0;
  edge.fleets.forEach((fleet, i) => {
    const at = `fleets[${i}]`;
    checkFleetName(fleet, at, fleetAt, i, add);
    checkListens(fleet, at, local, listenAt, add);
    for (const role of BACKEND_ROLES) {
      const list = fleet.backends[role];
      servers += list.length;
      if (role === 'preview' && list.length > 0 && fleet.service.previewListen === undefined)
        add(`${at}.backends.preview`, 'preview servers need a previewListen to be reached at');
      checkBackend(list, `${at}.backends.${role}`, add);
    }
  });
  if (servers > EDGE_LIMITS.servers)
    add('fleets', `at most ${EDGE_LIMITS.servers} servers in all, got ${servers}`);
  return problems;
}

/** validateEdge, throwing E_EDGE_INVALID with every problem in its message and details. */
export function assertEdge(edge: Edge, options: ValidateOptions = {}): void {
  const problems = validateEdge(edge, options);
  if (problems.length === 0) return;
  const shown = problems.slice(0, 20).map((p) => `  ${p.path}: ${p.message}`);
  if (problems.length > 20) shown.push(`  … and ${problems.length - 20} more`);
  throw new EdgeError('E_EDGE_INVALID', `the edge state is refused:\n${shown.join('\n')}`, {
    details: { problems },
  });
}

type Add = (path: string, message: string) => void;

function checkFleetName(
  fleet: EdgeFleet,
  at: string,
  seen: Map<string, number>,
  index: number,
  add: Add,
): void {
  if (!isEdgeName(fleet.fleet)) {
    add(`${at}.fleet`, `${quoteForMessage(fleet.fleet, 60)} is not a fleet name: ${NAME_RULE}`);
    return;
  }
  const before = seen.get(fleet.fleet);
  if (before !== undefined) add(`${at}.fleet`, `fleet ${fleet.fleet} is also fleets[${before}]`);
  else seen.set(fleet.fleet, index);
}

function checkListens(
  fleet: EdgeFleet,
  at: string,
  local: ReadonlySet<string>,
  owner: Map<string, string>,
  add: Add,
): void {
  const { service } = fleet;
  if (!isPort(service.port)) add(`${at}.service.port`, 'expected a port from 1 to 65535');
  const listens: [string, string | undefined][] = [
    ['listen', service.listen],
    ['previewListen', service.previewListen],
  ];
  for (const [key, listen] of listens) {
    if (listen === undefined) continue;
    const problem = listenProblem(listen, local);
    if (problem !== null) {
      add(`${at}.service.${key}`, `${quoteForMessage(listen, 40)}: ${problem}`);
      continue;
    }
    // Two fleets (or a fleet's listen and preview) on one address: HAProxy would bind both
    // with SO_REUSEPORT and split clients between them at random.
    const taken = owner.get(listen);
    if (taken !== undefined) add(`${at}.service.${key}`, `${listen} is already ${taken}`);
    else owner.set(listen, `the ${key} of fleet ${fleet.fleet}`);
  }
}

function checkBackend(servers: readonly EdgeServer[], at: string, add: Add): void {
  if (servers.length > EDGE_LIMITS.serversPerBackend)
    add(at, `at most ${EDGE_LIMITS.serversPerBackend} servers, got ${servers.length}`);
  const seen = new Set<string>();
  servers.forEach((s, j) => {
    const path = `${at}[${j}]`;
    if (!isEdgeName(s.instance))
      add(
        `${path}.instance`,
        `${quoteForMessage(s.instance, 60)} is not an instance id: ${NAME_RULE}`,
      );
    else if (seen.has(s.instance)) add(`${path}.instance`, `${s.instance} is listed twice`);
    else seen.add(s.instance);
    if (typeof s.address !== 'string' || parseIpv4(s.address) === null)
      add(`${path}.address`, `${quoteForMessage(String(s.address), 40)} is not an IPv4 address`);
    if (!isPort(s.port)) add(`${path}.port`, 'expected a port from 1 to 65535');
    if (!Number.isInteger(s.weight) || s.weight < 0 || s.weight > MAX_WEIGHT)
      add(`${path}.weight`, `expected a whole number from 0 to ${MAX_WEIGHT}`);
    if (!(SERVER_STATES as readonly string[]).includes(s.state))
      add(`${path}.state`, `expected one of ${SERVER_STATES.join(', ')}`);
  });
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65_535;
}
