import { hostGrant, hostUser, serverGrant, type Grant } from '../../core/cluster/index.js';
import type { CoordinationAdmin, CoordinationOptions } from '../../ports/coordination.js';
import { connect, prefixEnd, type Connection } from './connect.js';

const PERM = { read: 'Read', write: 'Write', readwrite: 'Readwrite' } as const;
const bytes = (s: string) => Buffer.from(s, 'utf8');
const already = (err: unknown, what: string) =>
  err instanceof Error && (err.message.includes(what) || String(err.cause).includes(what));

/** Open the user and role management of the store; give it the root user's credentials. */
export function openCoordinationAdmin(options: CoordinationOptions): CoordinationAdmin {
  const conn = connect(options);
  return {
    grantServers: async (password) => apply(conn, serverGrant(), password),
    grantHost: async (host, password) => apply(conn, hostGrant(host), password),
    revokeHost: async (host) => {
      const name = hostUser(host);
      const auth = conn.client.auth;
      await conn
        .run(`deleting etcd user ${name}`, () => auth.userDelete({ name }))
        .catch(ignore('user name not found'));
      await conn
        .run(`deleting etcd role ${name}`, () => auth.roleDelete({ role: name }))
        .catch(ignore('role name not found'));
    },
    close: () => conn.close(),
  };
}

const ignore = (what: string) => (err: unknown) => {
  if (!already(err, what)) throw err;
};

/**
 * Make the role hold exactly the grant's permissions (extra ones revoked: a role is never left
 * wider than its grant), the user exist with this password, and the user hold the role.
 */
async function apply(conn: Connection, grant: Grant, password: string): Promise<void> {
  const auth = conn.client.auth;
  const what = `granting etcd role ${grant.role}`;
  await conn
    .run(what, () => auth.roleAdd({ name: grant.role }))
    .catch(ignore('role name already exists'));
  const wanted = grant.permissions.map((p) => ({
    permType: PERM[p.access],
    key: bytes(p.key),
    range_end: p.prefix ? prefixEnd(p.key) : Buffer.alloc(0),
  }));
  const held = await conn.run(what, () => auth.roleGet({ role: grant.role }));
  for (const perm of held.perm) {
    const keep = wanted.some(
      (w) =>
        w.permType === perm.permType &&
        w.key.equals(perm.key) &&
        w.range_end.equals(perm.range_end),
    );
    if (!keep)
      await conn.run(what, () =>
        auth.roleRevokePermission({ role: grant.role, key: perm.key, range_end: perm.range_end }),
      );
  }
  for (const perm of wanted)
    await conn.run(what, () => auth.roleGrantPermission({ name: grant.role, perm }));
  const user = `setting etcd user ${grant.user}`;
  try {
    await conn.run(user, () => auth.userAdd({ name: grant.user, password }));
  } catch (err) {
    if (!already(err, 'user name already exists')) throw err;
    await conn.run(user, () => auth.userChangePassword({ name: grant.user, password }));
  }
  await conn.run(user, () => auth.userGrantRole({ user: grant.user, role: grant.role }));
}
