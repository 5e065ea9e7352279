import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEADER_KEY, assignmentKey, hostKey, memberKey, statusKey } from './keys.js';
import { hostGrant, serverGrant, type KeyPermission } from './rbac.js';

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,12}[a-z0-9])?$/);
const instanceId = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,12}[a-z0-9])?$/);

/** What etcd grants: the key itself, or every key starting with it. */
const covers = (p: KeyPermission, key: string) =>
  p.prefix ? key.startsWith(p.key) : key === p.key;
const canRead = (ps: readonly KeyPermission[], key: string) =>
  ps.some((p) => p.access !== 'write' && covers(p, key));
const canWrite = (ps: readonly KeyPermission[], key: string) =>
  ps.some((p) => p.access !== 'read' && covers(p, key));

describe('per-host RBAC', () => {
  it('lets a host read its assignments and write its status and registration', () => {
    fc.assert(
      fc.property(label, instanceId, (host, id) => {
        const { permissions } = hostGrant(host);
        expect(canRead(permissions, assignmentKey(host, id))).toBe(true);
        expect(canWrite(permissions, assignmentKey(host, id))).toBe(false);
        expect(canWrite(permissions, statusKey(host, id))).toBe(true);
        expect(canWrite(permissions, hostKey(host))).toBe(true);
      }),
    );
  });

  it("grants a host nothing of another host's, even one whose name starts with its own", () => {
    fc.assert(
      fc.property(label, label, instanceId, (a, suffix, id) => {
        for (const b of [`${a}${suffix}`, suffix, `${a}-${suffix}`]) {
          if (b === a) continue;
          const { permissions } = hostGrant(a);
          for (const key of [assignmentKey(b, id), statusKey(b, id), hostKey(b), memberKey(b)]) {
            expect(canRead(permissions, key), `${a} reads ${key}`).toBe(false);
            expect(canWrite(permissions, key), `${a} writes ${key}`).toBe(false);
          }
        }
      }),
    );
  });

  it('keeps hosts away from the leader key and the member records', () => {
    const { permissions } = hostGrant('a');
    expect(canWrite(permissions, LEADER_KEY)).toBe(false);
    expect(canRead(permissions, LEADER_KEY)).toBe(false);
    expect(canWrite(permissions, memberKey('a'))).toBe(false);
  });

  it('gives the servers every coordination key and nothing outside them', () => {
    const { permissions } = serverGrant();
    expect(canWrite(permissions, LEADER_KEY)).toBe(true);
    expect(canWrite(permissions, assignmentKey('a', 'b'))).toBe(true);
    expect(canRead(permissions, '/other/key')).toBe(false);
  });
});
