import { workerEntry } from '../shared/worker-entry.js';
import { WorkerPool } from '../shared/worker-pool.js';
import type { WorkerReply, WorkerTask } from './protocol.js';

/** The encoder's workers (worker.ts); each also takes the layer's EncodeSetup by broadcast. */
export type EncoderPool = WorkerPool<WorkerTask, WorkerReply>;

/**
 * The encoder's workers on the shared pool (shared/worker-pool.ts). Segments go through
 * `run`, as slots free up; hashes and checks through `post`, at once. A worker that dies
 * fails every job and breaks the pool: the build fails cleanly, and the encoder starts a
 * new pool for the next one.
 */
export function createEncoderPool(size: number): EncoderPool {
  return new WorkerPool({
    entry: workerEntry(import.meta.url, 'worker'),
    size,
    died: (cause, exitCode) =>
      exitCode === null ? cause : new Error(`encoder worker exited with code ${exitCode}`),
    closed: () => new Error('the layer encoder was closed'),
  });
}
