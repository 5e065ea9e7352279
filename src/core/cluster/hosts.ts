import type { Assignment, HostRegistration, HostView, MemberRecord } from '../../domain/cluster.js';
import type { ObservedInstance } from '../../domain/instance.js';

/**
 * Every host the control plane knows, with its state: a registration exists only while its
 * lease lives, so an admitted host without one is lost; a registered host nobody admitted is
 * unadmitted. Sorted by name. Pure.
 */
export function hostViews(
  members: readonly MemberRecord[],
  registrations: readonly HostRegistration[],
): HostView[] {
  const registered = new Map(registrations.map((r) => [r.name, r]));
  const admitted = new Map(members.map((m) => [m.name, m]));
  const names = [...new Set([...registered.keys(), ...admitted.keys()])].sort();
  return names.map((name) => {
    const registration = registered.get(name) ?? null;
    const member = admitted.get(name) ?? null;
    const state = registration === null ? 'lost' : member === null ? 'unadmitted' : 'live';
    return { name, state, registration, member };
  });
}

/**
 * A status value read under `/ingot/status/<host>/<id>`: its id must be the key's, and its
 * host is the key's (etcd's RBAC lets only that host write there), whatever the value says.
 */
export function statusUnderKey(
  host: string,
  id: string,
  value: ObservedInstance,
): { ok: true; value: ObservedInstance } | { ok: false; reason: string } {
  if (value.id !== id)
    return {
      ok: false,
      reason: `the value is for instance ${JSON.stringify(value.id.slice(0, 64))}, the key for ${id}`,
    };
  return { ok: true, value: { ...value, host } };
}

/**
 * An assignment read under `/ingot/assignments/<host>/<id>`: it must be for the key's
 * instance, or the host would run (and name its container after) something else than the key
 * says, and a later delete of the key would not stop it.
 */
export function assignmentUnderKey(
  id: string,
  value: Assignment,
): { ok: true; value: Assignment } | { ok: false; reason: string } {
  if (value.instance.id !== id)
    return {
      ok: false,
      reason: `the value is for instance ${JSON.stringify(value.instance.id.slice(0, 64))}, the key for ${id}`,
    };
  return { ok: true, value };
}
