import { ASSIGNMENTS, HOSTS, ROOT, STATUS, checkNodeName } from './keys.js';

/** One etcd permission: a key, or every key under a prefix. */
export interface KeyPermission {
  readonly access: 'read' | 'write' | 'readwrite';
  readonly key: string;
  /** The permission covers every key that starts with `key` (etcd's `--prefix`). */
  readonly prefix: boolean;
}

/** An etcd role, its permissions, and the one user that holds it. */
export interface Grant {
  readonly role: string;
  readonly user: string;
  readonly permissions: readonly KeyPermission[];
}

/** The servers' role and user: every coordination key, nothing outside them (not auth itself). */
export const SERVER_USER = 'ingot-server';

export function serverGrant(): Grant {
  return {
    role: SERVER_USER,
    user: SERVER_USER,
    permissions: [{ access: 'readwrite', key: ROOT, prefix: true }],
  };
}

/** A host's etcd user (and role) name. Host names are DNS labels, so this is one too. */
export const hostUser = (host: string): string => `ingot-host-${checkNodeName(host)}`;

/**
 * What one host may touch, and nothing more: read its own assignments, write its own status
 * and its own registration key. A host cannot read another's assignments (what runs where
 * is not its business), cannot write another's status (it would lie for it), and cannot
 * touch the leader key, the member records, or any assignment (it would schedule itself).
 */
export function hostGrant(host: string): Grant {
  const name = checkNodeName(host);
  const user = hostUser(name);
  return {
    role: user,
    user,
    permissions: [
      { access: 'read', key: `${ASSIGNMENTS}${name}/`, prefix: true },
      { access: 'readwrite', key: `${STATUS}${name}/`, prefix: true },
      { access: 'readwrite', key: `${HOSTS}${name}`, prefix: false },
    ],
  };
}
