import type { BackendRole } from './edge.js';

/**
 * HAProxy's names for what Ingot routes. Every name that reaches the configuration file or a
 * Runtime API command is checked against this one pattern first. The threat: a fleet name or
 * an instance id carrying a newline, a space, "#" or ";" would add its own lines to
 * haproxy.cfg (a frontend of its own, a `stats socket` open to all) or its own commands on
 * the admin socket (which splits a line on ";"). No quoting is attempted: a name that needs
 * it is refused.
 */
const NAME = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;

/** Lowercase letters, digits and "-" (not first or last), at most 48: fleets and instance ids. */
export const NAME_RULE = 'lowercase letters, digits and "-" (not at either end), at most 48';

export function isEdgeName(name: string): boolean {
  return NAME.test(name);
}

/**
 * Proxy names: `fe_<fleet>`, `be_<fleet>` and `…_preview`. "_" never occurs in a fleet name,
 * so each name maps back to one fleet and role.
 */
export function frontendName(fleet: string, role: BackendRole): string {
  return role === 'live' ? `fe_${fleet}` : `fe_${fleet}_preview`;
}

export function backendName(fleet: string, role: BackendRole): string {
  return role === 'live' ? `be_${fleet}` : `be_${fleet}_preview`;
}

/** The fleet and role of one of our backend names, or null (not ours). */
export function parseBackendName(name: string): { fleet: string; role: BackendRole } | null {
  const m = /^be_([a-z0-9-]+?)(_preview)?$/.exec(name);
  if (m === null || !isEdgeName(m[1] ?? '')) return null;
  return { fleet: m[1] ?? '', role: m[2] === undefined ? 'live' : 'preview' };
}
