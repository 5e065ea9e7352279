import { parseIpv4 } from './address.js';
import { EDGE_LIMITS, MAX_WEIGHT, type ServerState } from './edge.js';
import { EdgeError, quoteForMessage } from './errors.js';
import { isEdgeName } from './names.js';

/** One server as HAProxy's `show servers state` reports it. */
export interface ObservedServer {
  readonly backend: string;
  readonly server: string;
  readonly address: string;
  readonly port: number;
  /** The weight set by configuration or `set server … weight` (srv_uweight). */
  readonly weight: number;
  readonly state: ServerState;
}

/**
 * srv_admin_state bits (HAProxy 2.6 src/server.h): forced, inherited, resolution and
 * hostname maintenance take a server out; 0x04 (CMAINT) only records that the configuration
 * said `disabled`, and stays set after `set server … state ready` lets the server in again.
 */
const MAINT_BITS = 0x01 | 0x02 | 0x20 | 0x40;
const DRAIN_BITS = 0x08 | 0x10;

const REQUIRED = ['be_name', 'srv_name', 'srv_addr', 'srv_admin_state', 'srv_uweight', 'srv_port'];

/**
 * The servers in an answer to `show servers state` (format version 1). The answer is read
 * as hostile: columns are found by the header's names, every number is checked, and a row
 * that is not one of ours (a name we would never give) is returned in `foreign` rather than
 * trusted or dropped silently.
 */
export function parseServersState(text: string): {
  servers: ObservedServer[];
  foreign: string[];
} {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length > EDGE_LIMITS.servers + 2)
    fail(`${lines.length} lines is more than any edge has`);
  if (lines[0]?.trim() !== '1')
    fail(`expected format version 1, got ${quoteForMessage(lines[0] ?? '')}`);
  const header = lines[1];
  if (header?.startsWith('# ') !== true) fail('no header line');
  const names = header.slice(2).trim().split(/\s+/);
  const column = new Map(names.map((n, i) => [n, i]));
  for (const n of REQUIRED) if (!column.has(n)) fail(`the header has no ${n}`);
  const at = (fields: string[], name: string) => fields[column.get(name) ?? -1] ?? '';
  const servers: ObservedServer[] = [];
  const foreign: string[] = [];
  for (const line of lines.slice(2)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== names.length)
      fail(
        `a row has ${fields.length} fields, the header ${names.length}: ${quoteForMessage(line)}`,
      );
    const backend = at(fields, 'be_name');
    const server = at(fields, 'srv_name');
    if (!/^be_[a-z0-9_-]{1,80}$/.test(backend) || !isEdgeName(server)) {
      foreign.push(`${backend}/${server}`.slice(0, 200));
      continue;
    }
    servers.push({
      backend,
      server,
      address: address(at(fields, 'srv_addr'), line),
      port: int(at(fields, 'srv_port'), 0, 65_535, line),
      weight: int(at(fields, 'srv_uweight'), 0, MAX_WEIGHT, line),
      state: stateOf(int(at(fields, 'srv_admin_state'), 0, 0xffff, line)),
    });
  }
  return { servers, foreign };
}

export function stateOf(admin: number): ServerState {
  if ((admin & MAINT_BITS) !== 0) return 'maint';
  if ((admin & DRAIN_BITS) !== 0) return 'drain';
  return 'ready';
}

function address(text: string, line: string): string {
  if (parseIpv4(text) === null)
    fail(`${quoteForMessage(text)} is not an IPv4 address in ${quoteForMessage(line)}`);
  return text;
}

function int(text: string, min: number, max: number, line: string): number {
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max))
    fail(
      `${quoteForMessage(text)} is not a number from ${min} to ${max} in ${quoteForMessage(line)}`,
    );
  return n;
}

function fail(message: string): never {
  throw new EdgeError('E_EDGE_PROTOCOL', `show servers state: ${message}`);
}
