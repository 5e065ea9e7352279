import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTempFile, type TempFile } from '../atomic-file.js';

/** Content up to this size is hashed in memory, then written in the background. */
export const SMALL_OBJECT = 1 << 20;
/** Bytes of small objects being written at once, at most. */
const MAX_IN_FLIGHT = 64 << 20;

/**
 * The flat folder of a layer's file contents, each named by its sha256 (materialising).
 * Nothing in the archive decides where a byte is written: names are hashes we computed.
 *
 * Most files of a real image are small: those are hashed whole in memory and written under
 * their final name by the thread pool while the next entries are decompressed and parsed,
 * instead of blocking the one thread that feeds the decompressor on an open, a write and a
 * rename per file. A content already written is not written again. Larger files are streamed
 * to a temporary name as they arrive and renamed once hashed. Not synced: the objects are a
 * staging area that a crash throws away whole.
 */
export class ObjectWriter {
  private readonly named = new Set<string>();
  private readonly queue: { done: Promise<void>; size: number }[] = [];
  private inFlight = 0;
  private failure: { error: unknown } | null = null;

  constructor(readonly dir: string) {}

  /** Write a small content, whole in memory, under its hash (in the background). */
  async put(sha256: string, content: Buffer): Promise<void> {
    this.check();
    if (this.named.has(sha256)) return;
    this.named.add(sha256);
    while (this.inFlight + content.length > MAX_IN_FLIGHT && this.queue.length > 0)
      await this.queue.shift()!.done;
    this.check();
    const size = content.length;
    this.inFlight += size;
    const done = writeFile(join(this.dir, sha256), content, { flag: 'wx', mode: 0o600 }).then(
      () => {
        this.inFlight -= size;
      },
      (error: unknown) => {
        this.inFlight -= size;
        this.failure ??= { error };
      },
    );
    this.queue.push({ done, size });
  }

  /** A temporary file for a large content; give it its name with `commit`. */
  begin(): TempFile {
    this.check();
    return createTempFile(this.dir, 0o600);
  }

  commit(file: TempFile, sha256: string): void {
    if (this.named.has(sha256)) {
      file.discard();
      return;
    }
    this.named.add(sha256);
    file.commit(join(this.dir, sha256), { durable: false });
  }

  /** Every write finished; the first failure, if any, thrown. */
  async flush(): Promise<void> {
    await this.settle();
    this.check();
  }

  /** Every write finished, failed or not (before the folder is removed). */
  async settle(): Promise<void> {
    while (this.queue.length > 0) await this.queue.shift()!.done;
  }

  private check(): void {
    if (this.failure) throw this.failure.error;
  }
}
