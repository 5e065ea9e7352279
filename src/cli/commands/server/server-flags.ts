/**
 * V8 settings of the long-running server: a 1 MiB young generation. Its allocations are
 * small and short-lived; the default (16 MiB) only held garbage, and put 30 instances'
 * server above 150 MB of resident memory (bench/rollout: 155-182 MiB, 134 MiB with this).
 */
export const SERVER_FLAGS = ['--max-semi-space-size=1'];
