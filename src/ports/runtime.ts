/** A container as the runtime reports it. */
export interface ContainerState {
  readonly id: string;
  readonly status: 'created' | 'running' | 'paused' | 'stopped';
  /** Host pid of the container's init process (0 when stopped). */
  readonly pid: number;
  readonly bundle: string;
}

/** How a container's process ended, as the runtime saw it. */
export interface RuntimeExit {
  readonly code?: number;
  readonly signal?: number;
  readonly oomKills: number;
}

/**
 * The OCI runtime, as the agent needs it: create from a bundle with given output files,
 * start, signal, delete, and report. Deliberately no exec, no update, no pause: nothing
 * here changes what a running container is.
 */
export interface Runtime {
  /**
   * Create a container from a bundle (namespaces and mounts made, its process not yet run),
   * stdout and stderr going to the given files; resolves with the host pid of its process.
   */
  create(
    id: string,
    bundle: string,
    stdio: { readonly stdout: number; readonly stderr: number },
  ): Promise<number>;
  /** Run the created container's process. */
  start(id: string): Promise<void>;
  kill(id: string, signal: 'TERM' | 'KILL'): Promise<void>;
  /** Remove a stopped container (with force, a running one too). */
  delete(id: string, force?: boolean): Promise<void>;
  state(id: string): Promise<ContainerState | null>;
  /**
   * How the container's process ended (exit code, or the signal that killed it) and how many
   * times the OOM killer struck in its cgroup; null while unknown (still running, or nobody
   * saw it end). Read before delete: delete removes the cgroup.
   */
  exitOf(bundle: string): RuntimeExit | null;
  list(): Promise<ContainerState[]>;
}
