import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  packBatch,
  unpackReply,
  type HashOutcome,
  type HashReply,
  type PinnedPath,
} from './hash-protocol.js';
import { RootfsVerifyError } from './verify-errors.js';

interface Job {
  readonly files: readonly PinnedPath[];
  readonly resolve: (outcomes: readonly HashOutcome[]) => void;
  readonly reject: (err: Error) => void;
}

/**
 * A fixed set of hashing workers, started on first use. A worker is referenced only while
 * it has a batch, so an idle pool never keeps the process alive. With `idleMs`, workers
 * idle that long are ended (they hold memory) and started again when needed.
 *
 * Batches name files through the caller's open folders, so a batch is never failed while a
 * worker may still be reading it: on `close`, or when a worker dies, every worker is ended
 * first, and only then are the batches rejected. After a death the pool is unusable.
 */
export class HashPool {
  private workers: Worker[] = [];
  private idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job & { readonly id: number }>();
  private nextId = 0;
  private state: 'open' | 'closing' | 'broken' = 'open';
  private failure: Error | null = null;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly size: number,
    private readonly idleMs?: number,
  ) {}

  run(files: readonly PinnedPath[]): Promise<readonly HashOutcome[]> {
    if (this.state !== 'open') return Promise.reject(this.failure ?? closedError());
    clearTimeout(this.idleTimer);
    if (this.workers.length === 0) this.start();
    return new Promise((resolve, reject) => {
      this.queue.push({ files, resolve, reject });
      this.pump();
    });
  }

  /** The error `run` would reject with now, if any. */
  get unusable(): Error | null {
    return this.state === 'open' ? null : (this.failure ?? closedError());
  }

  async close(): Promise<void> {
    if (this.state === 'open') this.state = 'closing';
    this.failure ??= closedError();
    await this.stopAll();
  }

  private start(): void {
    const entry = workerEntry();
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(entry);
      worker.on('message', (reply: HashReply) => this.finish(worker, reply));
      worker.on('error', (err) => void this.died(worker, err));
      worker.on('exit', (code) => void this.died(worker, new Error(`exit code ${code}`)));
      // After the listeners: adding a 'message' listener references the worker's port.
      worker.unref();
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      const id = this.nextId++;
      this.running.set(worker, { ...job, id });
      worker.ref();
      worker.postMessage(packBatch(id, job.files));
    }
  }

  private finish(worker: Worker, reply: HashReply): void {
    const job = this.running.get(worker);
    if (!job) return;
    this.running.delete(worker);
    worker.unref();
    this.idle.push(worker);
    if (job.id === reply.id) job.resolve(unpackReply(reply));
    else job.reject(new Error(`a hashing worker answered batch ${reply.id}, not ${job.id}`));
    this.pump();
    if (this.running.size === 0 && this.idleMs !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => void this.retire(), this.idleMs).unref();
    }
  }

  /** A worker of this pool ended without being asked to: the pool cannot be trusted. */
  private async died(worker: Worker, cause: Error): Promise<void> {
    if (!this.workers.includes(worker) || this.state !== 'open') return;
    this.state = 'broken';
    this.failure = new RootfsVerifyError(
      'E_ROOTFS_VERIFY_WORKER',
      `a hashing worker died (${cause.message}): create a new verifier`,
      { cause },
    );
    await this.stopAll();
  }

  /** End idle workers; the next batch starts new ones. */
  private async retire(): Promise<void> {
    if (this.running.size > 0 || this.queue.length > 0) return;
    const workers = this.workers;
    this.workers = [];
    this.idle = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  /** End every worker, then fail every batch that had not been answered. */
  private async stopAll(): Promise<void> {
    clearTimeout(this.idleTimer);
    const workers = this.workers;
    this.workers = [];
    this.idle = [];
    await Promise.all(workers.map((w) => w.terminate()));
    const err = this.failure ?? closedError();
    for (const job of this.running.values()) job.reject(err);
    this.running.clear();
    for (const job of this.queue.splice(0)) job.reject(err);
  }
}

function closedError(): RootfsVerifyError {
  return new RootfsVerifyError('E_ROOTFS_VERIFY_CLOSED', 'the verifier was closed');
}

/**
 * The worker's entry. Compiled code (dist/) runs hash-worker.js next to this file. Under
 * vitest or tsx the sources are TypeScript, and Node 20 workers do not inherit `--import`
 * loaders: a tiny bootstrap registers tsx (a development dependency) inside the worker and
 * then imports hash-worker.ts. As the layer encoder's pool does (layer-encoder/pool.ts).
 */
function workerEntry(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./hash-worker.js', import.meta.url);
  const require = createRequire(import.meta.url);
  const tsx = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('./hash-worker.ts', import.meta.url).href;
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
