import { Worker } from 'node:worker_threads';

export interface WorkerPoolOptions {
  /** The workers' entry (worker-entry.ts). */
  readonly entry: URL;
  readonly size: number;
  /**
   * End the workers once all have been idle this long (ms); the next job starts them again.
   * They forget what `broadcast` told them. By default they are kept until `close`.
   */
  readonly idleMs?: number;
  /** The error every job fails with once a worker ended unasked (exitCode null: it threw). */
  readonly died: (cause: Error, exitCode: number | null) => Error;
  /** The error jobs fail with once the pool is closed. */
  readonly closed: () => Error;
}

interface Job<Reply> {
  readonly resolve: (reply: Reply) => void;
  readonly reject: (err: Error) => void;
  /** Its share of a worker's load, for `post`. */
  readonly weight: number;
}

/**
 * A fixed set of worker threads, started on first use, each answering its messages in the
 * order they came (so each keeps a queue of the jobs it was given). A worker is referenced
 * only while it has a job, so an idle pool never keeps the process alive.
 *
 * Two ways in. `run` hands a task to the next worker with nothing to do: for work that
 * holds a resource (a shared-memory slot) and must flow as resources free up. `post` sends
 * a task at once to the least loaded worker: for work that needs nothing from this thread,
 * so that workers stay busy while this thread is (and cannot hand out work).
 *
 * Tasks name things this thread owns (open folders, file descriptors, shared memory), so a
 * job is never failed while a worker may still be working on it: on `close`, or when a
 * worker dies, every worker is ended first, and only then are the jobs rejected. After a
 * death the pool is broken for good: its owner replaces it.
 */
export class WorkerPool<Task, Reply> {
  private workers: Worker[] = [];
  private readonly jobs = new Map<Worker, Job<Reply>[]>();
  private readonly queue: { task: Task; job: Job<Reply> }[] = [];
  private state: 'open' | 'closing' | 'broken' = 'open';
  private failure: Error | null = null;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Workers with at least one job. */
  private busy = 0;

  constructor(private readonly options: WorkerPoolOptions) {}

  get size(): number {
    return this.options.size;
  }

  /** The error `run` and `post` would reject with now, if any. */
  get unusable(): Error | null {
    return this.state === 'open' ? null : (this.failure ?? this.options.closed());
  }

  /** A worker died: every job failed, and the pool must be replaced. */
  get isBroken(): boolean {
    return this.state === 'broken';
  }

  /** Start the workers now (they take a while to load), if they are not running. */
  start(): void {
    clearTimeout(this.idleTimer); // work is coming: no retiring now
    if (this.state !== 'open' || this.workers.length > 0) return;
    for (let i = 0; i < this.options.size; i++) {
      const worker = new Worker(this.options.entry);
      worker.on('message', (reply: Reply) => this.finish(worker, reply));
      worker.on('error', (err) => void this.died(worker, err, null));
      worker.on('exit', (code) => void this.died(worker, new Error(`exit code ${code}`), code));
      // After the listeners: adding a 'message' listener references the worker's port.
      worker.unref();
      this.workers.push(worker);
      this.jobs.set(worker, []);
    }
  }

  /** Queue a task for the next worker with nothing in flight. */
  run(task: Task): Promise<Reply> {
    const unusable = this.unusable;
    if (unusable) return Promise.reject(unusable);
    this.start();
    return new Promise((resolve, reject) => {
      this.queue.push({ task, job: { resolve, reject, weight: 0 } });
      this.pump();
    });
  }

  /** Send a task now to the worker with the least work in flight, `weight` its share. */
  post(task: Task, weight: number): Promise<Reply> {
    const unusable = this.unusable;
    if (unusable) return Promise.reject(unusable);
    this.start();
    let best = this.workers[0]!;
    let least = Infinity;
    for (const w of this.workers) {
      const load = this.jobs.get(w)!.reduce((n, j) => n + j.weight + 1, 0);
      if (load < least) [best, least] = [w, load];
    }
    return new Promise((resolve, reject) => this.give(best, task, { resolve, reject, weight }));
  }

  /** A message for every worker, taken in order with their tasks; none replies to it. */
  broadcast(message: unknown): void {
    if (this.state !== 'open') return;
    this.start();
    for (const w of this.workers) w.postMessage(message);
  }

  async close(): Promise<void> {
    if (this.state === 'open') this.state = 'closing';
    this.failure ??= this.options.closed();
    await this.stopAll();
  }

  private give(worker: Worker, task: Task, job: Job<Reply>): void {
    const jobs = this.jobs.get(worker)!;
    if (jobs.length === 0) {
      worker.ref();
      this.busy++;
    }
    jobs.push(job);
    worker.postMessage(task);
  }

  private pump(): void {
    for (const worker of this.workers) {
      if (this.queue.length === 0) return;
      if (this.jobs.get(worker)!.length > 0) continue;
      const { task, job } = this.queue.shift()!;
      this.give(worker, task, job);
    }
  }

  private finish(worker: Worker, reply: Reply): void {
    const jobs = this.jobs.get(worker);
    const job = jobs?.shift();
    if (!jobs || !job) return; // a worker being ended; its jobs were failed
    if (jobs.length === 0) {
      worker.unref();
      this.busy--;
    }
    job.resolve(reply);
    this.pump();
    if (this.options.idleMs !== undefined && this.idle()) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => void this.retire(), this.options.idleMs).unref();
    }
  }

  private idle(): boolean {
    return this.busy === 0 && this.queue.length === 0;
  }

  /** A worker of this pool ended without being asked to: the pool cannot be trusted. */
  private async died(worker: Worker, cause: Error, exitCode: number | null): Promise<void> {
    if (!this.workers.includes(worker) || this.state !== 'open') return;
    this.state = 'broken';
    this.failure = this.options.died(cause, exitCode);
    await this.stopAll();
  }

  /** End idle workers; the next job starts new ones. */
  private async retire(): Promise<void> {
    if (!this.idle()) return;
    const workers = this.workers;
    this.workers = [];
    this.jobs.clear();
    this.busy = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }

  /** End every worker, then fail every job that had not been answered. */
  private async stopAll(): Promise<void> {
    clearTimeout(this.idleTimer);
    const workers = this.workers;
    const jobs = [...this.jobs.values()].flat();
    this.workers = [];
    this.jobs.clear();
    this.busy = 0;
    await Promise.all(workers.map((w) => w.terminate()));
    const err = this.failure ?? this.options.closed();
    for (const job of jobs) job.reject(err);
    for (const queued of this.queue.splice(0)) queued.job.reject(err);
  }
}
