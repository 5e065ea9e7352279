import { instanceEnv } from '../runtime/env.js';
import type { FleetSpec } from './spec.js';

/**
 * What runc and the kernel refuse, measured on runc 1.1.5 / cgroup v1 (Debian 12):
 *
 * - memory: runc writes the limit while its own init already sits in the cgroup (2.0–2.6 MB
 *   measured), and the kernel refuses a limit below the usage ("unable to set memory limit to
 *   1048576 (current usage: 2297856 …)"); at 2 MiB the init dies before it runs anything.
 *   The floor is Docker's, with room above what runc itself needs.
 * - cpus: the kernel refuses a CFS quota under 1 ms per 100 ms period (EINVAL on
 *   cpu.cfs_quota_us); below 0.01 the spec would be raised silently. Limits above the host's
 *   CPUs are accepted (they limit nothing): that is a question of capacity, not of runc.
 * - env: a NUL byte makes `runc create` refuse ("environment variable value can't contain
 *   null"); one `NAME=value` of 128 KiB or more (MAX_ARG_STRLEN, counting its NUL) and
 *   arguments + environment beyond ARG_MAX (a quarter of the stack limit, 2 MiB at the
 *   default 8 MiB) make execve fail with E2BIG once the instance is started.
 * - pids: any limit ≥ 1 is accepted (the schema's range).
 *
 * Each is refused at deploy: a release that can never start would otherwise be retried.
 */
export const RUNTIME_LIMITS = {
  minMemoryBytes: 6 * 1024 * 1024,
  minCpus: 0.01,
  /** MAX_ARG_STRLEN: 32 pages, its terminating NUL included. */
  maxEnvEntryBytes: 128 * 1024 - 1,
  /** Half of ARG_MAX under the default stack limit: the rest is the kernel's and the stack's. */
  maxArgsAndEnvBytes: 1024 * 1024,
} as const;

/** What of the image the instance's process is made of (its OCI config). */
export interface ImageProcess {
  readonly Env?: readonly string[] | null | undefined;
  readonly Entrypoint?: readonly string[] | null | undefined;
  readonly Cmd?: readonly string[] | null | undefined;
}

const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s).length;

/**
 * Every setting of `spec`, with the image's process, that runc or the kernel would refuse
 * when an instance starts, each as "path: what is wrong and what would do". Empty: nothing
 * known to be refused. Pure.
 */
export function runtimeProblems(spec: FleetSpec, image: ImageProcess = {}): string[] {
  const problems: string[] = [];
  const { memory, cpus } = spec.resources;
  if (memory !== undefined && memory < RUNTIME_LIMITS.minMemoryBytes)
    problems.push(
      `resources.memory: ${memory} bytes is below the smallest limit an instance can start with (6Mi): runc's own init needs about 2.5 MiB of it`,
    );
  if (cpus !== undefined && cpus < RUNTIME_LIMITS.minCpus)
    problems.push(
      `resources.cpus: ${cpus} is below the smallest CPU limit the kernel takes (0.01: 1 ms per 100 ms)`,
    );
  for (const [name, value] of Object.entries(spec.env)) {
    if (value.includes('\0'))
      problems.push(`env.${name}: contains a NUL byte, which no process environment can hold`);
    else if (bytes(`${name}=${value}`) > RUNTIME_LIMITS.maxEnvEntryBytes)
      problems.push(
        `env.${name}: ${bytes(value)} bytes; one variable must stay under 128 KiB (the kernel's MAX_ARG_STRLEN)`,
      );
  }
  const args = [...(image.Entrypoint ?? []), ...(image.Cmd ?? [])];
  const env = instanceEnv(image.Env, Object.entries(spec.env));
  // Each string with its NUL and its pointer, as execve counts them.
  const total = [...args, ...env].reduce((n, s) => n + bytes(s) + 1 + 8, 0);
  if (total > RUNTIME_LIMITS.maxArgsAndEnvBytes)
    problems.push(
      `env: the instance's arguments and environment come to ${total} bytes, above the ${RUNTIME_LIMITS.maxArgsAndEnvBytes} an instance may start with (the kernel refuses past ARG_MAX)`,
    );
  return problems;
}
