/**
 * Resolve an image config `User` ("name", "uid", "name:group", "uid:gid") against the
 * rootfs's /etc/passwd and /etc/group texts. Pure. Names must exist; a numeric id need not
 * (as runc and docker treat them).
 */
export type UserResolution =
  | { readonly ok: true; readonly uid: number; readonly gid: number }
  | { readonly ok: false; readonly problem: string };

const ID = /^\d{1,10}$/;
const MAX_ID = 2 ** 32 - 2;

function table(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields[0] && !rows.has(fields[0])) rows.set(fields[0], fields);
  }
  return rows;
}

export function resolveUser(
  spec: string | undefined,
  passwd: string,
  group: string,
): UserResolution {
  if (spec === undefined || spec === '') return { ok: true, uid: 0, gid: 0 };
  const [userPart = '', groupPart] = spec.split(':', 2);
  const users = table(passwd);
  let uid: number;
  let gid: number | undefined;
  if (ID.test(userPart)) {
    uid = Number(userPart);
    const byId = [...users.values()].find((f) => f[2] === userPart);
    gid = byId && ID.test(byId[3] ?? '') ? Number(byId[3]) : undefined;
  } else {
    const row = users.get(userPart);
    if (!row || !ID.test(row[2] ?? '') || !ID.test(row[3] ?? ''))
      return { ok: false, problem: `user ${JSON.stringify(userPart)} is not in /etc/passwd` };
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (groupPart !== undefined) {
    if (ID.test(groupPart)) gid = Number(groupPart);
    else {
      const row = table(group).get(groupPart);
      if (!row || !ID.test(row[2] ?? ''))
        return { ok: false, problem: `group ${JSON.stringify(groupPart)} is not in /etc/group` };
      gid = Number(row[2]);
    }
  }
  gid ??= 0;
  if (uid > MAX_ID || gid > MAX_ID) return { ok: false, problem: `${spec}: id out of range` };
  return { ok: true, uid, gid };
}
