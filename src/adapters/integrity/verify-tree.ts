import { availableParallelism } from 'node:os';
import { diffTree, type Drift } from '../../core/integrity/diff.js';
import type { MeasuredEntry } from '../../domain/measurement.js';
import { RootfsVerifyError } from './verify-errors.js';
import { HashPool } from './hash-pool.js';
import { PinnedWalk, type FileTask } from './pinned-walk.js';

export interface VerifyOptions {
  /** Paths the host adds (mount points): expected as folders, not drift (see diffTree). */
  readonly allowed?: ReadonlySet<string>;
  /** Stops the verification; it then rejects with E_ROOTFS_VERIFY_ABORTED. */
  readonly signal?: AbortSignal;
}

export interface Verifier {
  /**
   * Every difference between `root` and its measurement: each path added, removed, or
   * changed in type, mode, owner, size, link target or content. Nothing is skipped and
   * every file is hashed. The same result, in the same order, as
   * `diffTree(measurement, scanTree(root), allowed)`.
   */
  verify(
    root: string,
    measurement: readonly MeasuredEntry[],
    options?: VerifyOptions,
  ): Promise<Drift[]>;
  /** End the workers. Idle workers never keep the process alive, but they hold memory. */
  close(): Promise<void>;
}

export interface VerifierOptions {
  /** Hashing threads; default: os.availableParallelism(). */
  readonly workers?: number;
  /**
   * End workers idle for this long (ms), and start them again for the next check (about
   * 50 ms of CPU for two). Idle workers hold about 10 MiB each; by default they are kept.
   */
  readonly idleMs?: number;
}

/**
 * Files are hashed in batches, so that one message carries many small files (20,000 files
 * of a few KiB each would otherwise cost more in messages than in hashing). A worker
 * replies after a few MiB (hash-worker.ts), and the rest of its batch is sent again.
 */
const BATCH_FILES = 256;
/** Batches given out per worker: one being hashed, one waiting, so no worker idles. */
const AHEAD = 2;
/** Folders held open at once, beyond those the walk is inside of. */
const MAX_OPEN_FOLDERS = 512;

/** A verifier whose workers are started once and reused: for periodic checks. */
export function createVerifier(options: VerifierOptions = {}): Verifier {
  const size = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  const pool = new HashPool(size, options.idleMs);
  return {
    verify: (root, measurement, verifyOptions = {}) =>
      verifyWith(pool, root, measurement, verifyOptions),
    close: () => pool.close(),
  };
}

/** One verification with its own workers, ended afterwards. */
export async function verifyTree(
  root: string,
  measurement: readonly MeasuredEntry[],
  options: VerifyOptions & VerifierOptions = {},
): Promise<Drift[]> {
  const verifier = createVerifier(options);
  try {
    return await verifier.verify(root, measurement, options);
  } finally {
    await verifier.close();
  }
}

function aborted(signal: AbortSignal): RootfsVerifyError {
  return new RootfsVerifyError('E_ROOTFS_VERIFY_ABORTED', 'the verification was stopped', {
    cause: signal.reason,
  });
}

async function verifyWith(
  pool: HashPool,
  root: string,
  measurement: readonly MeasuredEntry[],
  { allowed, signal }: VerifyOptions,
): Promise<Drift[]> {
  if (signal?.aborted) throw aborted(signal);
  const unusable = pool.unusable;
  if (unusable) throw unusable;
  const walk = new PinnedWalk(root);
  const inflight = new Set<Promise<void>>();
  let failure: { readonly error: unknown } | null = null;
  const fail = (error: unknown) => {
    failure ??= { error };
  };

  const dispatch = (batch: readonly FileTask[]) => {
    const done: Promise<void> = pool
      .run(batch.map((t) => t.pinned))
      .then((outcomes) => {
        if (failure) return;
        for (let i = 0; i < outcomes.length; i++) walk.settle(batch[i]!, outcomes[i]!);
        if (outcomes.length < batch.length) dispatch(batch.slice(outcomes.length));
      })
      .catch(fail)
      .finally(() => inflight.delete(done));
    inflight.add(done);
  };

  try {
    for (;;) {
      if (signal?.aborted) fail(aborted(signal));
      while (
        !failure &&
        !walk.done &&
        inflight.size < pool.size * AHEAD &&
        (inflight.size === 0 || walk.openFolders < MAX_OPEN_FOLDERS)
      ) {
        try {
          const batch = walk.next(BATCH_FILES, MAX_OPEN_FOLDERS);
          if (batch.length > 0) dispatch(batch);
        } catch (err) {
          fail(err);
        }
      }
      // Folders stay open until no worker can be reading through them.
      if (inflight.size === 0) break;
      await Promise.race(inflight);
    }
    if (failure) throw (failure as { readonly error: unknown }).error;
    // A file left without its hash would pass unchecked (diffEntry compares content only
    // when the observation has one): never return a partial result.
    if (!walk.complete) throw new Error('internal error: the verification ended before the walk');
  } finally {
    walk.close();
  }
  return diffTree(measurement, walk.observed, allowed);
}
