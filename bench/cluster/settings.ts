/** bench/cluster's sizes (from the environment) and the production settings it runs with. */
export const HOSTS = Number(process.env['BENCH_HOSTS'] ?? 200);
export const FLEETS = Number(process.env['BENCH_FLEETS'] ?? 50);
export const PER_FLEET = Number(process.env['BENCH_PER_FLEET'] ?? 200);
export const STEADY_S = Number(process.env['BENCH_STEADY_S'] ?? 30);
export const PROCESSES = Number(process.env['BENCH_HOST_PROCESSES'] ?? 4);
export const INSTANCES = FLEETS * PER_FLEET;
/** Passes timed back to back at steady state. */
export const STEADY_PASSES = 10;

/** As in production: the host lease (cluster-agent.ts), the leader lease and pass interval (cluster-server.ts). */
export const HOST_TTL_S = 10;
export const LEADER_TTL_S = 3;
export const INTERVAL_MS = 500;
/** etcd's default --election-timeout (the test helper, like Debian's unit, sets none). */
export const ELECTION_TIMEOUT_MS = 1000;
/** HostLoop's default full report: every instance's status written again, changed or not. */
export const FULL_REPORT_S = 180;

/** The goals, and Nomad's C1M (1,000,000 containers on 5,000 hosts in < 5 min, 5 servers). */
export const GOAL_RATE = 1000;
export const C1M_RATE = 3750;
export const GOAL_PASS_MS = 1000;
/** Fewer than 1 etcd write per second per 100 idle instances. */
export const GOAL_WRITES = INSTANCES / 100;
