import {
  ASSIGNMENTS,
  HOSTS,
  MEMBERS,
  STATUS,
  assignmentsPrefix,
  hostAndInstanceIn,
  assignmentUnderKey,
  nameIn,
  statusPrefix,
  statusUnderKey,
} from '../../core/cluster/index.js';
import type { Assignment, HostRegistration, MemberRecord } from '../../domain/cluster.js';
import type { ObservedInstance } from '../../domain/instance.js';
import type { Reader } from './list.js';

/** `<folder><host>/<instance>` keys, limited to one host when one is given. */
const perInstance =
  (folder: string, host: string | undefined) =>
  (key: string): { host: string; id: string } | null => {
    const at = hostAndInstanceIn(folder, key);
    return at && (host === undefined || at.host === host) ? at : null;
  };

/** `<folder><name>` keys: the entry's host and id are both the name. */
const perName =
  (folder: string) =>
  (key: string): { host: string; id: string } | null => {
    const name = nameIn(folder, key);
    return name === null ? null : { host: name, id: name };
  };

/** A record that names itself must name its key's host. */
const namedAsKey =
  <T extends { readonly name: string }>() =>
  (host: string, _id: string, value: unknown) => {
    const v = value as T;
    return v.name === host
      ? { ok: true as const, value: v }
      : {
          ok: false as const,
          reason: `the value names ${JSON.stringify(v.name)}, the key ${host}`,
        };
  };

export const assignmentsReader = (host?: string): Reader<Assignment> => ({
  prefix: host === undefined ? ASSIGNMENTS : assignmentsPrefix(host),
  kind: 'assignment',
  parseKey: perInstance(ASSIGNMENTS, host),
  check: (_host, id, value) => assignmentUnderKey(id, value as Assignment),
});

export const statusReader = (host?: string): Reader<ObservedInstance> => ({
  prefix: host === undefined ? STATUS : statusPrefix(host),
  kind: 'status',
  parseKey: perInstance(STATUS, host),
  check: (h, id, value) => statusUnderKey(h, id, value as ObservedInstance),
});

export const registrationsReader: Reader<HostRegistration> = {
  prefix: HOSTS,
  kind: 'registration',
  parseKey: perName(HOSTS),
  check: namedAsKey<HostRegistration>(),
};

export const membersReader: Reader<MemberRecord> = {
  prefix: MEMBERS,
  kind: 'member',
  parseKey: perName(MEMBERS),
  check: namedAsKey<MemberRecord>(),
};
