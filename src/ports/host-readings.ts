/** What the host has, as read from it now (the instances' share is decided in core/capacity). */
export interface HostReadings {
  readonly memoryBytes: number;
  readonly cpus: number;
  /** Processes (threads) the host can have at once. */
  readonly pids: number;
}

/** Reads the host's resources; read fresh on each deploy (a host may be resized). */
export interface HostReader {
  read(): HostReadings;
}
