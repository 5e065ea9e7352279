import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAlive } from '../shared/process-alive.js';
import { writeFileAtomic } from '../shared/atomic-file.js';
import {
  EdgeError,
  renderConfig,
  type Edge,
  type RenderOptions,
} from '../../core/traffic/index.js';
import { readConfig, removeQuietly, writeCheckedConfig } from './config-file.js';
import {
  logTail,
  reapWorkers,
  runsConfig,
  sleep,
  spawnHaproxy,
  waitExit,
} from './haproxy-process.js';
import { ensureRunDir, runPaths, type RunPaths } from './run-dir.js';
import { RuntimeClient, showProc } from './runtime-client.js';

export interface SupervisorOptions {
  /** The run folder: configuration, sockets, pid file and log (made 0700). */
  readonly dir: string;
  /** The haproxy binary (default: `haproxy` from PATH). */
  readonly binary?: string;
  readonly render?: RenderOptions;
  /** How long a start or a reload may take before it counts as failed (default 5 s). */
  readonly readyTimeoutMs?: number;
  /** Delay before a restart after a death, doubling while restarts fail (default 0 → 5 s). */
  readonly restartDelayMs?: { readonly first?: number; readonly max?: number };
  readonly onEvent?: (event: SupervisorEvent) => void;
  /**
   * End HAProxy when this process ends, however it ends (default: it outlives a crash, keeps
   * serving, and the next supervisor on the same folder takes over from it). A cluster's
   * leader sets it: a dead leader's edge would go on routing to the instances it knew, beside
   * the new leader's.
   */
  readonly exitWithParent?: boolean;
}

export type SupervisorEvent =
  | {
      readonly type: 'started';
      readonly pid: number;
      readonly restart: boolean;
      readonly ms: number;
    }
  | { readonly type: 'reloaded'; readonly workers: readonly number[]; readonly ms: number }
  | {
      readonly type: 'exited';
      readonly pid: number;
      readonly code: number | null;
      readonly signal: string | null;
    }
  | { readonly type: 'restart-failed'; readonly error: EdgeError; readonly nextDelayMs: number }
  | { readonly type: 'stopped' };

/** A process that stays up this long has earned a fresh restart delay. */
const STABLE_MS = 10_000;

/**
 * Runs one HAProxy in master-worker mode from a configuration rendered from Ingot's state:
 * writes the file atomically (and only once `haproxy -c` accepts it), starts it, reloads it
 * without refusing a connection (SIGUSR2 to the master; the new worker takes the listening
 * sockets over), restarts it when it dies, and stops it. One operation at a time.
 *
 * The file is the state a restart starts from, so every change of the edge, reloaded or sent
 * over the Runtime API, is written to it first: HAProxy killed comes back with the same
 * servers and weights.
 */
export class HaproxySupervisor {
  readonly paths: RunPaths;
  private readonly binary: string;
  private child: ChildProcess | null = null;
  private edgeNow: Edge = { fleets: [] };
  private readonly workers = new Set<number>();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private delay: number;
  private startedAt = 0;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: SupervisorOptions) {
    this.paths = runPaths(options.dir);
    this.binary = options.binary ?? 'haproxy';
    this.delay = options.restartDelayMs?.first ?? 0;
  }

  /** Render `edge`, start HAProxy on it, and supervise it. */
  static async start(edge: Edge, options: SupervisorOptions): Promise<HaproxySupervisor> {
    const supervisor = new HaproxySupervisor(options);
    await supervisor.exclusive(async () => {
      ensureRunDir(supervisor.paths.dir);
      await supervisor.writeFile(edge);
      await supervisor.launch(false);
    });
    return supervisor;
  }

  /** The edge the configuration file holds (what a restart or reload starts from). */
  get edge(): Edge {
    return this.edgeNow;
  }

  /** The master's pid, or null while HAProxy is down. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /**
   * Write `edge` to the file without touching the running process: for changes the Runtime
   * API makes (the caller sends the commands), so that a restart keeps them.
   */
  write(edge: Edge): Promise<void> {
    return this.exclusive(async () => {
      this.refuseIfStopped();
      await this.writeFile(edge);
    });
  }

  /**
   * Write `edge` and reload: the master starts a worker on the new file, which takes the
   * listening sockets over from the old one; the old one finishes its requests (bounded by
   * hard-stop-after). If the new file does not load (a listen taken), HAProxy keeps the old
   * worker, the old file is put back, and E_EDGE_RELOAD says why.
   */
  reload(edge: Edge): Promise<void> {
    return this.exclusive(async () => {
      this.refuseIfStopped();
      const before = readConfig(this.paths.config);
      const beforeEdge = this.edgeNow;
      await this.writeFile(edge);
      if (this.child === null) {
        // Down (between a death and its restart): start on the new file now.
        this.cancelRestart();
        await this.launch(true);
        return;
      }
      try {
        await this.signalReload(this.child);
      } catch (err) {
        if (before !== null) writeFileAtomic(this.paths.config, before, { mode: 0o600 });
        this.edgeNow = beforeEdge;
        throw err;
      }
    });
  }

  /**
   * Stop: soft first (SIGUSR1: stop listening, finish requests), then SIGTERM, then SIGKILL;
   * workers left behind are killed; sockets and pid file are removed. The configuration is
   * kept: it is the record of the last state served.
   */
  stop(graceMs = 5_000): Promise<void> {
    this.stopping = true;
    this.cancelRestart();
    return this.exclusive(async () => {
      const child = this.child;
      if (child !== null) {
        child.kill('SIGUSR1');
        if (!(await waitExit(child, graceMs))) {
          child.kill('SIGTERM');
          if (!(await waitExit(child, 2_000))) child.kill('SIGKILL');
          await waitExit(child, 2_000);
        }
      }
      await reapWorkers(this.workers, this.paths.config);
      removeQuietly(this.paths.adminSocket, this.paths.masterSocket, this.paths.pidFile);
      this.options.onEvent?.({ type: 'stopped' });
    });
  }

  private async writeFile(edge: Edge): Promise<void> {
    const text = renderConfig(edge, this.paths, this.options.render);
    if (readConfig(this.paths.config) !== text)
      await writeCheckedConfig(this.binary, this.paths.config, text);
    this.edgeNow = edge;
  }

  /** Start HAProxy on the file; take over from a former one of ours still running. */
  private async launch(restart: boolean): Promise<void> {
    const t0 = performance.now();
    const former = this.formerMaster();
    const child = await spawnHaproxy(
      this.binary,
      this.paths,
      this.readyTimeoutMs(),
      this.options.exitWithParent,
    );
    this.child = child;
    this.startedAt = performance.now();
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    await this.recordWorkers();
    // A former HAProxy (this supervisor's process died and came back) bound the same
    // listens with SO_REUSEPORT: now that ours serves, it stops listening and finishes.
    if (former !== null) signal(former, 'SIGUSR1');
    this.options.onEvent?.({
      type: 'started',
      pid: child.pid ?? 0,
      restart,
      ms: performance.now() - t0,
    });
  }

  private async signalReload(child: ChildProcess): Promise<void> {
    const t0 = performance.now();
    const master = this.paths.masterSocket;
    const before = await showProc(master);
    const known = new Set([...before.workers, ...before.oldWorkers]);
    child.kill('SIGUSR2');
    const deadline = t0 + this.readyTimeoutMs();
    let fresh: number | undefined;
    while (fresh === undefined) {
      if (this.child !== child) throw this.reloadError('HAProxy exited during the reload');
      if (performance.now() > deadline) throw this.reloadError('the reload did not finish in time');
      await sleep(10);
      // The master re-executes itself: its socket refuses connections for a moment.
      const now = await showProc(master, { timeoutMs: 500 }).catch(() => null);
      if (now === null) continue;
      if (now.failedReloads > before.failedReloads)
        throw this.reloadError('HAProxy did not load the new configuration and kept the old one');
      fresh = now.workers.find((pid) => !known.has(pid));
    }
    await this.recordWorkers();
    // The admin socket answers from the new worker once it is running.
    const client = new RuntimeClient(this.paths.adminSocket, { timeoutMs: 500 });
    while ((await client.workerPid().catch(() => 0)) !== fresh) {
      if (performance.now() > deadline)
        throw this.reloadError('the new worker did not answer in time');
      await sleep(10);
    }
    const workers = [fresh];
    this.options.onEvent?.({ type: 'reloaded', workers, ms: performance.now() - t0 });
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    if (this.stopping) return;
    this.options.onEvent?.({ type: 'exited', pid: child.pid ?? 0, code, signal });
    if (performance.now() - this.startedAt >= STABLE_MS)
      this.delay = this.options.restartDelayMs?.first ?? 0;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.stopping || this.restartTimer !== null) return;
    const wait = this.delay;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.exclusive(() => this.restart());
    }, wait);
  }

  private async restart(): Promise<void> {
    if (this.stopping || this.child !== null) return;
    // Workers of the dead master notice it is gone and exit; do not let one linger beside
    // the new generation.
    await reapWorkers(this.workers, this.paths.config);
    this.workers.clear();
    try {
      await this.launch(true);
    } catch (err) {
      const first = this.options.restartDelayMs?.first ?? 0;
      const max = this.options.restartDelayMs?.max ?? 5_000;
      this.delay = Math.min(max, Math.max(100, first, this.delay * 2));
      const error = err instanceof EdgeError ? err : new EdgeError('E_EDGE_START', String(err));
      this.options.onEvent?.({ type: 'restart-failed', error, nextDelayMs: this.delay });
      this.scheduleRestart();
    }
  }

  /** Remember the workers (to reap any left behind), forgetting those that are gone. */
  private async recordWorkers(): Promise<void> {
    const list = await showProc(this.paths.masterSocket).catch(() => null);
    for (const pid of list?.workers ?? []) this.workers.add(pid);
    for (const pid of this.workers) if (!isAlive(pid)) this.workers.delete(pid);
  }

  /** The master named by the pid file, if it still runs haproxy on our file. */
  private formerMaster(): number | null {
    let pid: number;
    try {
      pid = Number(readFileSync(this.paths.pidFile, 'utf8').trim());
    } catch {
      return null;
    }
    if (!Number.isInteger(pid) || pid <= 1 || pid === this.child?.pid) return null;
    return isAlive(pid) && runsConfig(pid, this.paths.config) ? pid : null;
  }

  private reloadError(what: string): EdgeError {
    return new EdgeError(
      'E_EDGE_RELOAD',
      `${what}; its last messages (${this.paths.log}):\n${logTail(this.paths)}`,
    );
  }

  private refuseIfStopped(): void {
    if (this.stopping) throw new EdgeError('E_EDGE_STOPPED', 'the edge supervisor was stopped');
  }

  private cancelRestart(): void {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  private readyTimeoutMs(): number {
    return this.options.readyTimeoutMs ?? 5_000;
  }

  /** Run `step` after every operation queued before it (a failure does not block the queue). */
  private exclusive<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone meanwhile
  }
}
