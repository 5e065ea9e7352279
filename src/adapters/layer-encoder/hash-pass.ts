import { SourceError } from '../../domain/build-errors.js';
import type { SourceFile } from '../../domain/source.js';
import type { HashTask, WorkerReply, WorkerTask } from './protocol.js';

/** A hash task's share of the files: enough to amortise a message, small enough to balance. */
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_FILES = 512;

export interface Hashed {
  readonly sha256: string;
  /** The file's bytes, when the SBOM wants them (core/sbom/capture.ts). */
  readonly content: Uint8Array | null;
  /** Taken from KnownDigests rather than read by this build. */
  readonly remembered?: boolean;
}

/**
 * The first pass of a warm build: every file's sha256 (what finds parts an earlier build
 * stored), in batches spread over the workers. Each file is checked unchanged since the
 * walk, as the segment jobs check it.
 */
export async function hashSources(
  sources: readonly { readonly file: SourceFile; readonly capture: boolean }[],
  run: (task: WorkerTask) => Promise<WorkerReply>,
  onProgress?: (done: number, total: number) => void,
): Promise<Map<SourceFile, Hashed>> {
  const out = new Map<SourceFile, Hashed>();
  const tasks: HashTask[] = [];
  let batch: HashTask['files'][number][] = [];
  let bytes = 0;
  let total = 0;
  const flush = () => {
    if (batch.length > 0) tasks.push({ type: 'hash', id: tasks.length, files: batch });
    batch = [];
    bytes = 0;
  };
  sources.forEach(({ file, capture }, entry) => {
    batch.push({ entry, file, capture });
    bytes += file.size;
    total += file.size;
    if (bytes >= BATCH_BYTES || batch.length >= BATCH_FILES) flush();
  });
  flush();
  let done = 0;
  await Promise.all(
    tasks.map(async (task) => {
      const reply = await run(task);
      if (reply.type === 'error') {
        if (reply.code === 'E_SOURCE_CHANGED')
          throw new SourceError('E_SOURCE_CHANGED', reply.path, reply.message);
        throw new Error(`hashing sources failed: ${reply.message}`);
      }
      if (reply.type !== 'hashed') throw new Error(`unexpected ${reply.type} reply to a hash`);
      const content = new Map(reply.captured.map((c) => [c.entry, c.bytes]));
      for (const f of reply.files) {
        const { file } = sources[f.entry]!;
        out.set(file, { sha256: f.sha256, content: content.get(f.entry) ?? null });
        done += file.size;
      }
      onProgress?.(done, total);
    }),
  );
  return out;
}
