import {
  assertEdge,
  EdgeError,
  observedEdge,
  planRuntime,
  type Edge,
  type ObservedServer,
  type ServerCounters,
} from '../../core/traffic/index.js';
import { assertListensFree } from './listen-check.js';
import { RuntimeClient, type RunReport } from './runtime-client.js';
import { runPaths, type RunPaths } from './run-dir.js';
import { HaproxySupervisor, type SupervisorEvent, type SupervisorOptions } from './supervisor.js';

/** What one `apply` did. */
export interface ApplyReport {
  /** Whether the listens changed, so HAProxy was reloaded (and why). */
  readonly reloaded: boolean;
  readonly reasons: readonly string[];
  /** Runtime API commands sent, in order, with HAProxy's answers. */
  readonly sent: RunReport['sent'];
  /** The first failure; nothing was sent after it. */
  readonly error?: EdgeError;
}

/** The supervisor's events, and the edge's own after a restart. */
export type EdgeEvent =
  | SupervisorEvent
  /** After a restart, the last desired state was applied again (what the file cannot say). */
  | { readonly type: 'resynced'; readonly report: ApplyReport }
  | { readonly type: 'resync-failed'; readonly error: EdgeError };

export interface EdgeOptions extends Omit<SupervisorOptions, 'onEvent'> {
  readonly onEvent?: (event: EdgeEvent) => void;
}

/**
 * The edge in front of Ingot's fleets, on one machine: a supervised HAProxy, moved to each
 * desired state by the cheapest safe means (Runtime API commands, or a reload when listens
 * change). Level-based: every apply reads what HAProxy runs now and plans from that, never
 * from what it was told before, so a restart, a lost command or a hand-made change is
 * corrected by the next apply. After a restart it applies the last desired state by itself.
 */
export class HaproxyEdge {
  readonly client: RuntimeClient;
  readonly paths: RunPaths;
  private desired: Edge;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    initial: Edge,
    private readonly options: EdgeOptions,
    private readonly supervisor: HaproxySupervisor,
  ) {
    this.desired = initial;
    this.paths = runPaths(options.dir);
    this.client = new RuntimeClient(this.paths.adminSocket);
  }

  static async start(edge: Edge, options: EdgeOptions): Promise<HaproxyEdge> {
    assertEdge(edge, options.render);
    let self: HaproxyEdge | null = null;
    const supervisor = await HaproxySupervisor.start(edge, {
      ...options,
      onEvent: (event) => {
        options.onEvent?.(event);
        if (event.type === 'started' && event.restart) self?.resync();
      },
    });
    self = new HaproxyEdge(edge, options, supervisor);
    try {
      const report = await self.apply(edge);
      if (report.error !== undefined) throw report.error;
    } catch (err) {
      await supervisor.stop();
      throw err;
    }
    return self;
  }

  /** HAProxy's master, or null while it is down. */
  get pid(): number | null {
    return this.supervisor.pid;
  }

  /** Move HAProxy to `desired`; refused (E_EDGE_INVALID) before anything changes if it is bad. */
  async apply(desired: Edge): Promise<ApplyReport> {
    assertEdge(desired, this.options.render);
    return this.exclusive(() => this.converge(desired, true));
  }

  /** The servers HAProxy runs now, and what it counted for each. */
  async observe(): Promise<{ servers: ObservedServer[]; counters: ServerCounters[] }> {
    return { servers: await this.client.servers(), counters: await this.client.stats() };
  }

  stop(graceMs?: number): Promise<void> {
    return this.supervisor.stop(graceMs);
  }

  private async converge(desired: Edge, mayReload: boolean): Promise<ApplyReport> {
    const current = observedEdge(this.supervisor.edge, await this.client.servers());
    const plan = planRuntime(current, desired, this.options.render);
    if (plan.kind === 'reload') {
      if (!mayReload)
        throw new EdgeError(
          'E_EDGE_RELOAD',
          `the listens still differ after a reload: ${plan.reasons.join('; ')}`,
        );
      await assertListensFree(desired, this.supervisor.edge);
      await this.supervisor.reload(desired);
      this.desired = desired;
      // A reloaded worker starts from the file, where a draining server reads `disabled`.
      const after = await this.converge(desired, false);
      return { ...after, reloaded: true, reasons: plan.reasons };
    }
    // The file first: if HAProxy dies halfway through the commands, it comes back as desired.
    await this.supervisor.write(desired);
    this.desired = desired;
    const run = await this.client.run(plan.commands);
    return { reloaded: false, reasons: [], ...run };
  }

  /** Restarted from the file: bring back what the file cannot say (drain). */
  private resync(): void {
    const emit = (event: EdgeEvent) => this.options.onEvent?.(event);
    this.exclusive(() => this.converge(this.desired, false)).then(
      (report) => emit({ type: 'resynced', report }),
      (err: unknown) =>
        emit({
          type: 'resync-failed',
          error: err instanceof EdgeError ? err : new EdgeError('E_EDGE_UNREACHABLE', String(err)),
        }),
    );
  }

  private exclusive<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
