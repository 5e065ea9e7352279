/** Descriptors kept for the agent whatever the API is asked: runc, CNI, logs, watches. */
export const AGENT_RESERVE_MIN = 512;
/** More open API connections than any local use needs (the CLI holds one or two). */
export const API_CONNECTIONS_MAX = 1024;
/** Even on a host with few descriptors, the API stays usable. */
export const API_CONNECTIONS_MIN = 16;

/**
 * How many connections the API may hold, given the process's soft RLIMIT_NOFILE: what is
 * left after the agent's reserve (half the limit, at least AGENT_RESERVE_MIN), within
 * [API_CONNECTIONS_MIN, API_CONNECTIONS_MAX]. Pure. With Linux's usual 1024 that is 512;
 * a flood of connections can then never take the descriptors `spawn runc` needs (issue 15).
 */
export function apiConnectionBudget(softLimit: number): number {
  if (!Number.isFinite(softLimit)) return API_CONNECTIONS_MAX;
  const reserve = Math.max(AGENT_RESERVE_MIN, Math.ceil(softLimit / 2));
  const left = Math.floor(softLimit) - reserve;
  return Math.min(API_CONNECTIONS_MAX, Math.max(API_CONNECTIONS_MIN, left));
}
