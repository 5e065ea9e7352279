import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EncodeSetup, SegmentTask, WorkerReply } from './protocol.js';

/**
 * A fixed set of encoder workers. Tasks queue and go to whichever worker is idle. A worker
 * that dies fails its task; the pool is then unusable and the build fails cleanly.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: {
    task: SegmentTask;
    resolve: (r: WorkerReply) => void;
    reject: (e: Error) => void;
  }[] = [];
  private readonly running = new Map<
    Worker,
    { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }
  >();
  private broken: Error | null = null;

  constructor(size: number) {
    const url = workerEntry();
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      worker.on('message', (reply: WorkerReply) => this.finish(worker, reply));
      worker.on('error', (err) => this.fail(worker, err));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(worker, new Error(`encoder worker exited with code ${code}`));
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Give every worker what the next layer's tasks share (slots, blob, cache). */
  setup(message: EncodeSetup): void {
    for (const w of this.workers) w.postMessage(message);
  }

  run(task: SegmentTask): Promise<WorkerReply> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.running.set(worker, job);
      worker.postMessage(job.task);
    }
  }

  private finish(worker: Worker, reply: WorkerReply): void {
    const job = this.running.get(worker);
    this.running.delete(worker);
    this.idle.push(worker);
    job?.resolve(reply);
    this.pump();
  }

  private fail(worker: Worker, err: Error): void {
    this.broken ??= err;
    const job = this.running.get(worker);
    this.running.delete(worker);
    job?.reject(err);
    for (const queued of this.queue.splice(0)) queued.reject(err);
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
