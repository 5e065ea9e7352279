import { parseIpv4 } from './address.js';
import { MAX_WEIGHT, type ServerState } from './edge.js';
import { EdgeError, quoteForMessage } from './errors.js';
import { isEdgeName } from './names.js';

/**
 * One Runtime API command, as data: a plan is a list of these, which a model can apply in a
 * test and the adapter sends over the admin socket, one per connection.
 *
 * `add` makes the server in maintenance (HAProxy 2.6's rule); a `state` command then lets
 * it in. `del` is accepted by HAProxy only for a server in maintenance with no connection
 * left. (`enable server` exists too, but 2.6 marks it deprecated for `set server … state`.)
 */
export type RuntimeCommand =
  | {
      readonly op: 'add';
      readonly backend: string;
      readonly server: string;
      readonly address: string;
      readonly port: number;
      readonly weight: number;
    }
  | {
      readonly op: 'weight';
      readonly backend: string;
      readonly server: string;
      readonly weight: number;
    }
  | {
      readonly op: 'state';
      readonly backend: string;
      readonly server: string;
      readonly state: ServerState;
    }
  | {
      readonly op: 'addr';
      readonly backend: string;
      readonly server: string;
      readonly address: string;
      readonly port: number;
    }
  | { readonly op: 'del'; readonly backend: string; readonly server: string };

/**
 * The command line. Names and addresses are checked again here, whoever built the command:
 * the admin socket runs every ";"-separated command of a line, so one unchecked name would
 * be a way to run any command at admin level.
 */
export function formatCommand(c: RuntimeCommand): string {
  const target = `${proxyName(c.backend)}/${serverName(c.server)}`;
  switch (c.op) {
    case 'add':
      return `add server ${target} ${ipv4(c.address)}:${port(c.port)} weight ${weight(c.weight)}`;
    case 'weight':
      return `set server ${target} weight ${weight(c.weight)}`;
    case 'state':
      return `set server ${target} state ${c.state}`;
    case 'addr':
      return `set server ${target} addr ${ipv4(c.address)} port ${port(c.port)}`;
    case 'del':
      return `del server ${target}`;
  }
}

/**
 * Why HAProxy's answer to `c` is a refusal, or null if it is the success it prints. The
 * Runtime API has no status codes: `set` commands answer nothing (or, for addr, what
 * changed), `add` and `del` a fixed sentence; anything else is HAProxy saying no.
 */
export function answerProblem(c: RuntimeCommand, answer: string): string | null {
  const text = answer.trim();
  const ok =
    c.op === 'add'
      ? text === 'New server registered.'
      : c.op === 'del'
        ? text === 'Server deleted.'
        : c.op === 'addr'
          ? /^(IP changed from|no need to change the addr)/.test(text)
          : text === '';
  return ok ? null : `HAProxy refused "${formatCommand(c)}": ${quoteForMessage(text, 300)}`;
}

function proxyName(name: string): string {
  if (!/^(?:fe|be)_[a-z0-9-]+(?:_preview)?$/.test(name) || name.length > 80)
    refuse('backend', name);
  return name;
}

function serverName(name: string): string {
  if (!isEdgeName(name)) refuse('server', name);
  return name;
}

function ipv4(address: string): string {
  if (parseIpv4(address) === null) refuse('address', address);
  return address;
}

function port(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 65_535) refuse('port', String(n));
  return n;
}

function weight(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_WEIGHT) refuse('weight', String(n));
  return n;
}

function refuse(what: string, value: string): never {
  throw new EdgeError(
    'E_EDGE_INVALID',
    `${quoteForMessage(value, 60)} cannot be a ${what} in a Runtime API command`,
  );
}
