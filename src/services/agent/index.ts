import { DEFAULT_MAX_INSTANCES } from '../../core/capacity/host-capacity.js';
import { hostUsage, type HostUsage } from '../../core/capacity/host-usage.js';
import { checkDesired } from '../../core/runtime/desired.js';
import type { Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type { DesiredInstance, Integrity, ObservedInstance } from '../../domain/instance.js';
import type { DebugAccess } from '../debug.js';
import { IntegrityMonitor } from '../integrity/index.js';
import type { Drift } from '../../core/integrity/diff.js';
import { attachDebug, closeDebug, openDebug } from './break-glass.js';
import { instanceEvent, type AgentContext } from './context.js';
import { DEFAULT_LOG_MAX_BYTES, type AgentDeps } from './deps.js';
import { artifactFetcher } from './fetch-artifact.js';
import { HealthProber } from './health.js';
import { isRunning, InstanceTable, type TrackedInstance } from './instance-table.js';
import { IntegritySchedule } from './integrity-schedule.js';
import { noteExit } from './exits.js';
import { recoverInstances } from './recover.js';
import { StartQueue } from './start-queue.js';
import { StartRecords } from './start-records.js';
import { stopAll, type StopAllReport } from './stop-all.js';
import { markStopping, stopInstance } from './stop-instance.js';
import { StopQueue } from './stop-queue.js';
import { taint } from './taint.js';

export type { AgentDeps } from './deps.js';
export type { StopAllReport } from './stop-all.js';

/** Stops and clean-ups under way at once: each spawns runc and CNI, and waits on a grace. */
const STOP_CONCURRENCY = 4;
/** A runtime list this recent is still the answer (the controller passes twice a second). */
const LIST_REUSE_MS = 400;

/**
 * The host side of Ingot: turns admitted artifacts into running instances and reports
 * them. Its whole surface is apply, observe, logs (and recover after a restart, verify,
 * break-glass): it has no operation that changes a running instance. Every input and output
 * is plain data, so the same interface can be served over HTTP. Each concern has a file of
 * its own in this folder, the way Nomad's task runner has one per lifecycle hook.
 */
export class Agent {
  private readonly table: InstanceTable;
  private readonly ctx: AgentContext;
  private readonly prober: HealthProber;
  private readonly schedule: IntegritySchedule | null;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private applying: Promise<unknown> = Promise.resolve();
  private readonly starts: StartQueue;
  /** What the latest apply wants: starts an earlier one queued are dropped if it does not. */
  private wanted: ReadonlySet<string> = new Set();
  /** The latest desired set taken (its artifacts' rootfs stay cached). */
  private desired: readonly DesiredInstance[] = [];
  private readonly stops: StopQueue;
  /** A stop that failed after a `settle: false` apply returned: the next apply reports it. */
  private stopFailure: Error | null = null;
  private closing = false;
  private listing: {
    /** When the list was asked for: containers made after it may be missing from it. */
    began: number;
    at: number;
    pending: boolean;
    result: ReturnType<AgentDeps['runtime']['list']>;
  } | null = null;

  constructor(private readonly deps: AgentDeps) {
    this.table = new InstanceTable(deps.state);
    const monitor = deps.integrity
      ? new IntegrityMonitor({
          ...deps.integrity,
          now: deps.now,
          onDrift: (finding) => taint(this.ctx, this.table, finding),
        })
      : null;
    const emit: AgentContext['emit'] = (kind, t, detail) =>
      deps.onEvent?.(instanceEvent(deps.now().getTime(), deps.hostName, kind, t, detail));
    const listed = async (digest: Digest) =>
      (await deps.store.index()).manifests.some((m) => m.digest === digest);
    this.ctx = {
      deps,
      monitor,
      emit,
      records: new StartRecords(emit),
      fetchArtifact: artifactFetcher(listed, deps.pull),
    };
    this.prober = new HealthProber(this.ctx, this.table);
    this.starts = new StartQueue(this.ctx, this.table, {
      concurrency: deps.startConcurrency ?? 3,
      maxInstances: deps.maxInstances ?? DEFAULT_MAX_INSTANCES,
      wanted: (id) => this.wanted.has(id),
    });
    this.stops = new StopQueue(STOP_CONCURRENCY, (id) => this.stopOne(id));
    this.schedule = monitor
      ? new IntegritySchedule(monitor, deps.processCheckMs ?? 1000, deps.fullVerifyMs ?? 600_000)
      : null;
  }

  /**
   * Make what runs match `desired`: start what is missing, stop what is not wanted. A
   * desired instance that already runs is left alone, whatever else changed (only the grace
   * it will be stopped with follows the latest set): replacing it is the controller's
   * decision, made by naming a new instance.
   *
   * Stops and starts are queued in the order applies were called and then run side by side:
   * stops a few at a time in the background (stop-queue.ts), starts a few at a time
   * (start-queue.ts). An instance being stopped reports "stopping" at once, and an id being
   * stopped is started again only once its stop has ended. By default this resolves once this
   * call's stops and starts have ended; `{ settle: false }` resolves once they are queued, so
   * that a controller is never held up by one fleet's start storm or by a program that takes
   * its whole grace to stop (a failed stop is then reported by the next apply). A later apply
   * that no longer wants a queued instance drops it, so a shrink gets through at once.
   */
  apply(
    desired: readonly DesiredInstance[],
    options: { readonly settle?: boolean } = {},
  ): Promise<ObservedInstance[]> {
    try {
      checkDesired(desired);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const wanted = new Set(desired.map((d) => d.id));
    this.wanted = wanted;
    const taken = this.applying.then(() => {
      this.desired = desired;
      this.followGraces(desired);
      const stops = this.stopUnwanted(wanted);
      const started = desired
        .filter((d) => {
          const t = this.table.get(d.id);
          return !t || t.state === 'stopped' || this.stops.has(d.id);
        })
        .map((d) => this.startAfterStop(d));
      this.starts.pump();
      return { started, stops };
    });
    this.applying = taken.catch(() => undefined);
    return taken.then(async ({ started, stops }) => {
      if (options.settle !== false) {
        await Promise.all(started);
        const failed = (await stops).find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
      } else {
        void stops.then((results) => {
          const failed = results.find((r) => r.status === 'rejected');
          if (failed)
            this.stopFailure ??=
              failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
        });
        const failure = this.stopFailure;
        this.stopFailure = null;
        if (failure !== null) throw failure;
      }
      return this.snapshot();
    });
  }

  /**
   * Start `d`, or, if its id is still being stopped, once that stop has ended and if it is
   * still wanted then: the old container of the same name must be gone first.
   */
  private startAfterStop(d: DesiredInstance): Promise<void> {
    const stopping = this.stops.ended(d.id);
    if (!stopping) return this.starts.enqueue(d);
    return stopping.then(() => {
      if (this.closing || !this.wanted.has(d.id) || this.table.has(d.id)) return;
      const started = this.starts.enqueue(d);
      this.starts.pump();
      return started;
    });
  }

  /** The grace each running instance will be stopped with is the latest one it was told. */
  private followGraces(desired: readonly DesiredInstance[]): void {
    for (const d of desired) {
      const t = this.table.get(d.id);
      if (!t || t.stopGraceMs === d.stopGraceMs) continue;
      if (d.stopGraceMs === undefined) delete t.stopGraceMs;
      else t.stopGraceMs = d.stopGraceMs;
      this.table.save(d.id);
    }
  }

  /**
   * What is not wanted goes: dropped if only queued, else marked stopping at once and stopped
   * in the background (after its start ended). Resolves with each stop's outcome.
   */
  private stopUnwanted(wanted: ReadonlySet<string>): Promise<PromiseSettledResult<void>[]> {
    const unwanted = [...this.table.values()]
      .filter((t) => !wanted.has(t.id) && !this.stops.has(t.id))
      .map((t) => t.id)
      .filter((id) => !this.starts.cancel(id));
    for (const id of unwanted) markStopping(this.table, id);
    return Promise.allSettled(unwanted.map((id) => this.stops.stop(id)));
  }

  /** One stop, once the instance's start (if under way) has ended; room made is used. */
  private async stopOne(id: string): Promise<void> {
    try {
      await this.starts.settled(id);
      await stopInstance(this.ctx, this.table, id);
    } finally {
      this.collectRootfs(this.desired);
      // Room made: what waited for the host's maximum may start.
      this.starts.pump();
    }
  }

  /** Every cached rootfs that nothing desired or running needs goes. */
  private collectRootfs(desired: readonly DesiredInstance[]): void {
    const running = [...this.table.values()];
    this.deps.collectRootfs?.(
      new Set([...desired.map((d) => d.artifact), ...running.map((t) => t.artifact)]),
      // A discarded rootfs stays while a tainted instance still runs from it.
      new Set(running.flatMap((t) => (t.rootfs ? [t.rootfs] : []))),
    );
  }

  /** Every instance the agent knows, with the runtime's view of whether it still runs. */
  async observe(): Promise<ObservedInstance[]> {
    await this.refresh();
    return this.snapshot();
  }

  /**
   * Every instance as the agent last saw it, without asking the runtime: what the API serves,
   * so that reading status never waits on spawning runc (seconds on a loaded host). The
   * controller's passes observe() twice a second, which keeps it current.
   */
  known(): ObservedInstance[] {
    return this.snapshot();
  }

  /** What its instances reserve of the host, as last seen (`ingot hosts`). */
  usage(): HostUsage {
    return hostUsage(this.snapshot(), this.desired);
  }

  private integrityOf(t: TrackedInstance): Integrity {
    if (t.evidence?.length) return 'tainted';
    return this.ctx.monitor?.integrityOf(t.id) ?? 'unchecked';
  }

  private snapshot(): ObservedInstance[] {
    return this.table.snapshot((t) => this.integrityOf(t), this.deps.hostName);
  }

  /** The instance's stdout and stderr (the rotated part first). */
  logs(id: string): string {
    if (!this.table.has(id))
      throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${JSON.stringify(id)}`);
    return this.deps.files.readLogs(id);
  }

  /**
   * The runtime's list, shared: one `runc list` at a time, and one made less than
   * LIST_REUSE_MS ago answers too. Each spawn blocks the event loop while the process forks
   * (hundreds of ms on a loaded host, measured), and a controller pass, the API and a start
   * storm all ask.
   */
  private async listRuntime(): Promise<{
    began: number;
    containers: Awaited<ReturnType<AgentDeps['runtime']['list']>>;
  }> {
    const now = this.deps.now().getTime();
    if (this.listing && (this.listing.pending || now - this.listing.at < LIST_REUSE_MS))
      return { began: this.listing.began, containers: await this.listing.result };
    const listing = {
      began: now,
      at: now,
      pending: true,
      result: this.deps.runtime.list().finally(() => {
        listing.pending = false;
        listing.at = this.deps.now().getTime();
      }),
    };
    this.listing = listing;
    return { began: now, containers: await listing.result };
  }

  /**
   * Mark instances whose process has gone as failed. A list asked for before an instance was
   * started says nothing about it: shared lists once marked new instances failed ("its
   * process exited") and rolled back a healthy release on a busy host.
   */
  private async refresh(): Promise<void> {
    const { began, containers } = await this.listRuntime();
    const running = new Map(containers.map((c) => [c.id, c]));
    const exited: TrackedInstance[] = [];
    for (const t of this.table.values()) {
      // One the agent is stopping is no longer running (state "stopping"): its process ends
      // because it is told to, and that is no crash (stop-instance.ts).
      if (!isRunning(t)) continue;
      if (t.startedAt !== undefined && Date.parse(t.startedAt) >= began) continue;
      const c = running.get(t.id);
      if (!c || c.status === 'stopped') exited.push(t);
    }
    // Marked at once (the controller must not count it as running meanwhile), then how it
    // ended once the shim has said (exits.ts).
    for (const t of exited) {
      t.state = 'failed';
      t.reason = 'its process exited';
      this.table.save(t.id);
    }
    await Promise.all(
      exited.map((t) =>
        noteExit(this.ctx, t).then(
          () => this.table.save(t.id),
          () => undefined,
        ),
      ),
    );
  }

  /**
   * After a restart: adopt the containers this agent started, and remove what it does not
   * own. Nothing that runs is restarted. Resolves once adoption is done; what it removes goes
   * on in the background, and applies wait for it (recover.ts).
   */
  async recover(): Promise<{ adopted: string[]; removed: string[] }> {
    const recovered = recoverInstances(this.ctx, this.table);
    this.applying = this.applying
      .then(() => recovered)
      .then((r) => r.cleanup)
      .catch(() => undefined);
    const { adopted, removed } = await recovered;
    return { adopted, removed };
  }

  /** Resolves when every apply so far (and a recovery's clean-up) has been taken. */
  async settled(): Promise<void> {
    await this.applying;
  }

  /** One round of integrity checks that are due, health probes and log rotation. */
  tick(): Promise<void> {
    this.ticking ??= this.runTick().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const now = this.deps.now().getTime();
    this.schedule?.run(now);
    const due: Promise<void>[] = [];
    for (const t of this.table.values()) {
      if (!isRunning(t)) continue;
      this.deps.files.rotateLog(t.id, this.deps.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES);
      this.deps.files.markLog(t.id, now);
      if (!t.address) continue;
      // One instance's probe must never take the agent down with it.
      due.push(this.prober.probe(t, now).catch(() => undefined));
    }
    await Promise.all(due);
  }

  /** Probe health every `everyMs` until close(). */
  run(everyMs = 100): void {
    this.timer ??= setInterval(() => void this.tick(), everyMs);
  }

  /**
   * Without a control plane: stop every container this agent's runtime lists and release
   * what every saved instance held (stop-all.ts); `why` goes into each stop's record. Not with recover() or apply() in the same
   * agent: it is for `ingot down --stop-instances` when no server runs.
   */
  stopAll(why: Readonly<Record<string, unknown>>): Promise<StopAllReport> {
    return stopAll(this.ctx, this.table, why);
  }

  /** Release the host network the instances shared; call once every instance stopped. */
  async releaseNetwork(): Promise<void> {
    await this.deps.network.release();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.applying;
    this.closing = true;
    await this.stops.drain();
    await this.starts.close();
    await this.schedule?.settled();
    this.ctx.monitor?.close();
    await this.deps.integrity?.close?.();
    await this.deps.state.close();
  }

  /**
   * Full verification of every rootfs in use, now (`ingot verify-instances`); drift taints
   * as any other finding does.
   */
  async verifyInstances(): Promise<{ artifact: Digest; instances: string[]; drift: Drift[] }[]> {
    if (!this.ctx.monitor)
      throw new IngotError('E_INTEGRITY_OFF', 'this agent does not measure instances');
    return this.ctx.monitor.verifyAll();
  }

  /** Seconds spent measuring instances since the agent started (0 if it does not). */
  integritySeconds(): number {
    return this.ctx.monitor?.busySeconds() ?? 0;
  }

  /** Break-glass: taint and hold the instance until the session ends (break-glass.ts). */
  openDebug(id: string, access: DebugAccess): ObservedInstance {
    openDebug(this.ctx, this.table, id, access);
    return this.snapshot().find((i) => i.id === id)!;
  }

  /** The session ended: the instance is no longer held, and goes. */
  closeDebug(id: string): void {
    closeDebug(this.table, id);
  }

  /** A session may run `command` (commandLine) in the held instance, once (break-glass.ts). */
  attachDebug(id: string, command: string): void {
    attachDebug(this.table, id, command, this.ctx.deps.now());
  }
}
