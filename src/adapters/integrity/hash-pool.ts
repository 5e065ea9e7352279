import { workerEntry } from '../shared/worker-entry.js';
import { WorkerPool } from '../shared/worker-pool.js';
import {
  packBatch,
  unpackReply,
  type HashBatch,
  type HashOutcome,
  type HashReply,
  type PinnedPath,
} from './hash-protocol.js';
import { RootfsVerifyError } from './verify-errors.js';

/**
 * The hashing workers (hash-worker.ts), one batch each at a time, on the shared pool
 * (shared/worker-pool.ts): started on first use, never keeping the process alive while
 * idle, and with `idleMs` ended after that long idle (they hold memory) and started again
 * when needed.
 *
 * Batches name files through the caller's open folders, which is why the pool ends every
 * worker before it fails a batch (on `close`, or when a worker dies). After a death the
 * pool is unusable (E_ROOTFS_VERIFY_WORKER): the agent replaces its verifier.
 */
export class HashPool {
  private readonly pool: WorkerPool<HashBatch, HashReply>;
  private nextId = 0;

  constructor(
    readonly size: number,
    idleMs?: number,
  ) {
    this.pool = new WorkerPool({
      entry: workerEntry(import.meta.url, 'hash-worker'),
      size,
      ...(idleMs !== undefined && { idleMs }),
      died: (cause) =>
        new RootfsVerifyError(
          'E_ROOTFS_VERIFY_WORKER',
          `a hashing worker died (${cause.message}): create a new verifier`,
          { cause },
        ),
      closed: () => new RootfsVerifyError('E_ROOTFS_VERIFY_CLOSED', 'the verifier was closed'),
    });
  }

  async run(files: readonly PinnedPath[]): Promise<readonly HashOutcome[]> {
    const id = this.nextId++;
    const reply = await this.pool.run(packBatch(id, files));
    if (reply.id !== id) throw new Error(`a hashing worker answered batch ${reply.id}, not ${id}`);
    return unpackReply(reply);
  }

  /** The error `run` would reject with now, if any. */
  get unusable(): Error | null {
    return this.pool.unusable;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
