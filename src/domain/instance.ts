import type { Digest } from './digest.js';

/** What should run: one instance of an artifact, named deterministically by its fleet. */
export interface DesiredInstance {
  /** [a-z0-9-], at most 48 characters: the container id and the hostname. */
  readonly id: string;
  readonly fleet: string;
  readonly artifact: Digest;
  /**
   * Where a host whose store lacks the artifact pulls it: `HOST[:PORT]/REPO@sha256:…`, by
   * digest (admitted before any layer, as `ingot pull` does). Absent: the artifact must be
   * in the host's store already.
   */
  readonly source?: string;
  /** The release it belongs to (a label the agent keeps and reports; the controller's). */
  readonly release?: string;
  /** Environment over the image's, by name. */
  readonly env?: readonly (readonly [string, string])[];
  /** Artifact volume name → shared host volume, instead of the fleet's own. */
  readonly volumes?: readonly (readonly [string, string])[];
  readonly resources?: {
    readonly memoryBytes?: number;
    readonly cpus?: number;
    readonly pids?: number;
  };
  /**
   * SIGTERM, then this long (ms), then SIGKILL; absent: the host's grace. The fleet's
   * current value: the agent stops an instance with the latest grace it was told.
   */
  readonly stopGraceMs?: number;
}

/** Which check saw an instance differ from its artifact or its runtime config. */
export const DETECTORS = [
  /** A file event on the rootfs, checked against the measurement. */
  'files',
  /** The periodic (or on-demand) full verification of the rootfs. */
  'files-full',
  /** A process runs code that is not the measured file at that path. */
  'exec',
  /** The mount table differs from the runtime config. */
  'mounts',
  /** A process entered the instance from outside (runc exec, nsenter). */
  'process',
  /** An `ingot debug` session: access, whatever happened during it. */
  'break-glass',
] as const;
export type Detector = (typeof DETECTORS)[number];

/** Why an instance is tainted: what was expected, what was found, by which check, when. */
export interface Evidence {
  readonly detector: Detector;
  readonly path: string;
  readonly expected: string;
  readonly actual: string;
  /** ISO 8601. */
  readonly time: string;
}

/**
 * verified: every check so far found it as built; tainted: it drifted or was accessed and
 * must be replaced; unchecked: not measured yet (starting, or no rootfs watch yet).
 */
export const INTEGRITIES = ['verified', 'tainted', 'unchecked'] as const;
export type Integrity = (typeof INTEGRITIES)[number];

export const INSTANCE_STATES = [
  'pending',
  'starting',
  'healthy',
  'unhealthy',
  'stopped',
  /** Admission refused the artifact: it never started. */
  'refused',
  /** It could not be started, or its process exited. */
  'failed',
  /**
   * Being stopped (SIGTERM, its grace, SIGKILL): it no longer serves, and no longer counts
   * against its fleet's surge ceiling.
   */
  'stopping',
] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/** How an instance's process ended on its own (it exited, or a signal killed it). */
export interface InstanceExit {
  /** Its exit status, when it exited. */
  readonly code?: number;
  /** The signal that killed it ("SIGKILL"), when one did. */
  readonly signal?: string;
  /** The kernel's OOM killer killed a process of it (its memory limit was reached). */
  readonly oomKilled: boolean;
  /** When the agent saw it ended (ISO 8601). */
  readonly at: string;
  /** The last line it wrote that says something (bounded, printable). */
  readonly lastLine?: string;
}

export interface ObservedInstance {
  readonly id: string;
  readonly fleet: string;
  readonly artifact: Digest;
  readonly state: InstanceState;
  /** Why it is refused or failed. */
  readonly reason?: string;
  readonly address?: string;
  /** The TCP ports its image exposes (its config's ExposedPorts), at `address`. */
  readonly ports?: readonly number[];
  /** The host it runs on. */
  readonly host?: string;
  readonly pid?: number;
  readonly startedAt?: string;
  readonly release?: string;
  /** When it last became healthy (and has stayed so). */
  readonly healthySince?: string;
  readonly integrity?: Integrity;
  /** Why it is tainted, the first finding first (bounded). */
  readonly evidence?: readonly Evidence[];
  /** An open `ingot debug` session holds it until this time (ISO 8601), then it is replaced. */
  readonly heldUntil?: string;
  /** How its process ended, when it ended on its own (state failed). */
  readonly exit?: InstanceExit;
}

/** What is kept of an instance whose process ended on its own, once it is removed. */
export interface PreviousInstance {
  readonly id: string;
  readonly fleet: string;
  readonly artifact: Digest;
  readonly release?: string;
  readonly startedAt?: string;
  readonly reason?: string;
  readonly exit: InstanceExit;
  /** The last 64 KiB of its stdout and stderr. */
  readonly output: string;
}

export function isInstanceId(id: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/.test(id);
}
