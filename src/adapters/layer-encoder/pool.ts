import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EncodeSetup, WorkerReply, WorkerTask } from './protocol.js';

interface Job {
  readonly resolve: (r: WorkerReply) => void;
  readonly reject: (e: Error) => void;
  readonly weight: number;
}

/**
 * A fixed set of encoder workers. A worker answers its messages in the order they came, so
 * each keeps a queue of jobs in flight.
 *
 * Two ways in. `run` hands a task to the next idle worker: for segments, which hold a slot
 * and must flow as slots free up. `post` sends a task to the least loaded worker at once:
 * for hashing and checking, which need nothing from this thread, so that the workers stay
 * busy while this thread is (planning, writing the SBOM) and cannot hand out work.
 *
 * A worker that dies fails its jobs; the pool is then unusable and the build fails cleanly.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly inflight = new Map<Worker, Job[]>();
  private readonly queue: { task: WorkerTask; job: Job }[] = [];
  private broken: Error | null = null;

  constructor(size: number) {
    const url = workerEntry();
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      worker.on('message', (reply: WorkerReply) => this.finish(worker, reply));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`encoder worker exited with code ${code}`));
      });
      this.workers.push(worker);
      this.inflight.set(worker, []);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** A worker died: every job failed, and the pool must be closed and replaced. */
  get isBroken(): boolean {
    return this.broken !== null;
  }

  /** Give every worker what the next layer's tasks share (slots, blob, cache). */
  setup(message: EncodeSetup): void {
    for (const w of this.workers) w.postMessage(message);
  }

  run(task: WorkerTask): Promise<WorkerReply> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ task, job: { resolve, reject, weight: 0 } });
      this.pump();
    });
  }

  /** Send now to the worker with the least work in flight, `weight` being this task's share. */
  post(task: WorkerTask, weight: number): Promise<WorkerReply> {
    if (this.broken) return Promise.reject(this.broken);
    let best = this.workers[0]!;
    let least = Infinity;
    for (const w of this.workers) {
      const load = this.inflight.get(w)!.reduce((n, j) => n + j.weight + 1, 0);
      if (load < least) [best, least] = [w, load];
    }
    return new Promise((resolve, reject) => {
      this.inflight.get(best)!.push({ resolve, reject, weight });
      best.postMessage(task);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private pump(): void {
    for (const worker of this.workers) {
      if (this.queue.length === 0) return;
      const jobs = this.inflight.get(worker)!;
      if (jobs.length > 0) continue;
      const { task, job } = this.queue.shift()!;
      jobs.push(job);
      worker.postMessage(task);
    }
  }

  private finish(worker: Worker, reply: WorkerReply): void {
    this.inflight.get(worker)!.shift()?.resolve(reply);
    this.pump();
  }

  private fail(err: Error): void {
    this.broken ??= err;
    for (const jobs of this.inflight.values()) for (const job of jobs.splice(0)) job.reject(err);
    for (const queued of this.queue.splice(0)) queued.job.reject(err);
  }
}

/**
 * The worker's entry. Built code runs worker.js. Under the test runner the sources are
 * TypeScript: Node 20 workers do not take `--import` loaders from execArgv, so a tiny
 * bootstrap registers tsx (a development dependency) inside the worker and then imports
 * the entry.
 */
function workerEntry(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./worker.js', import.meta.url);
  const require = createRequire(import.meta.url);
  const tsx = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('./worker.ts', import.meta.url).href;
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
