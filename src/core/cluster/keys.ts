import { isNodeName } from '../../domain/cluster.js';
import { IngotError } from '../../domain/errors.js';
import { isInstanceId } from '../../domain/instance.js';

/**
 * Where coordination lives in etcd. Every key is under one prefix, and each kind under its
 * own folder, so that etcd's RBAC can grant a host exactly its own keys by prefix:
 *
 * ```
 * /ingot/leader                          the leader record, on the leader's lease;
 *                                        its create revision is the leader's epoch
 * /ingot/members/<host>                  a host the leader admitted (no lease: it outlives one)
 * /ingot/hosts/<host>                    the host's registration, on the host's lease
 * /ingot/assignments/<host>/<instance>   what the host is told to run (the leader writes, fenced)
 * /ingot/status/<host>/<instance>        what the host observes (the host writes)
 * ```
 *
 * A folder prefix ends in `/`: host `a` is granted `/ingot/status/a/`, which does not cover
 * `/ingot/status/ab/`. Names are DNS labels and instance ids are [a-z0-9-], so neither can
 * hold a `/` and climb into another host's keys.
 */
export const ROOT = '/ingot/';
export const LEADER_KEY = `${ROOT}leader`;
export const MEMBERS = `${ROOT}members/`;
export const HOSTS = `${ROOT}hosts/`;
export const ASSIGNMENTS = `${ROOT}assignments/`;
export const STATUS = `${ROOT}status/`;

/** The name, checked: anything else would not be a safe key segment or etcd user name. */
export function checkNodeName(name: string, what = 'host'): string {
  if (!isNodeName(name))
    throw new IngotError(
      'E_CLUSTER_NAME',
      `${JSON.stringify(name.slice(0, 100))} is not a valid ${what} name: use lowercase letters, digits and inner hyphens, at most 63`,
    );
  return name;
}

function checkInstanceId(id: string): string {
  if (!isInstanceId(id))
    throw new IngotError(
      'E_INSTANCE_ID',
      `${JSON.stringify(id.slice(0, 100))} is not a valid instance id`,
    );
  return id;
}

export const memberKey = (host: string): string => MEMBERS + checkNodeName(host);
export const hostKey = (host: string): string => HOSTS + checkNodeName(host);
export const assignmentsPrefix = (host: string): string => `${ASSIGNMENTS}${checkNodeName(host)}/`;
export const assignmentKey = (host: string, id: string): string =>
  assignmentsPrefix(host) + checkInstanceId(id);
export const statusPrefix = (host: string): string => `${STATUS}${checkNodeName(host)}/`;
export const statusKey = (host: string, id: string): string =>
  statusPrefix(host) + checkInstanceId(id);

/**
 * The name in `<folder><name>` (members, hosts), or null when the key is anything else: keys
 * come from etcd, where anyone with write access to the folder may have put anything.
 */
export function nameIn(folder: string, key: string): string | null {
  if (!key.startsWith(folder)) return null;
  const name = key.slice(folder.length);
  return isNodeName(name) ? name : null;
}

/** The host and instance of `<folder><host>/<instance>` (assignments, status), or null. */
export function hostAndInstanceIn(
  folder: string,
  key: string,
): { readonly host: string; readonly id: string } | null {
  if (!key.startsWith(folder)) return null;
  const parts = key.slice(folder.length).split('/');
  if (parts.length !== 2) return null;
  const [host, id] = parts as [string, string];
  return isNodeName(host) && isInstanceId(id) ? { host, id } : null;
}
