import type { Digest } from './digest.js';

/** What should run: one instance of an artifact, named deterministically by its fleet. */
export interface DesiredInstance {
  /** [a-z0-9-], at most 48 characters: the container id and the hostname. */
  readonly id: string;
  readonly fleet: string;
  readonly artifact: Digest;
  /** The release it belongs to (a label the agent keeps and reports; the controller's). */
  readonly release?: string;
  /** Environment over the image's, by name. */
  readonly env?: readonly (readonly [string, string])[];
  readonly resources?: {
    readonly memoryBytes?: number;
    readonly cpus?: number;
    readonly pids?: number;
  };
}

export type InstanceState =
  | 'pending'
  | 'starting'
  | 'healthy'
  | 'unhealthy'
  | 'stopped'
  /** Admission refused the artifact: it never started. */
  | 'refused'
  /** It could not be started, or its process exited. */
  | 'failed';

export interface ObservedInstance {
  readonly id: string;
  readonly fleet: string;
  readonly artifact: Digest;
  readonly state: InstanceState;
  /** Why it is refused or failed. */
  readonly reason?: string;
  readonly address?: string;
  /** The host it runs on. */
  readonly host?: string;
  readonly pid?: number;
  readonly startedAt?: string;
  readonly release?: string;
  /** When it last became healthy (and has stayed so). */
  readonly healthySince?: string;
}

export function isInstanceId(id: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/.test(id);
}
