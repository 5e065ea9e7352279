import type { PartRange } from '../../core/layer-parts.js';
import { planSegments } from '../../core/segments.js';
import { SourceError } from '../../domain/build-errors.js';
import { awaitedLater } from '../shared/later.js';
import type { EncoderPool } from './encoder-pool.js';
import type { LayerJob, NewPart, Run } from './layer-job.js';
import { PartWriter } from './part-writer.js';
import {
  envOf,
  type CachedMember,
  type EncodeSetup,
  type SegmentResult,
  type SegmentTask,
  type WorkerReply,
} from './protocol.js';
import { buildTasks } from './segment-tasks.js';

/** What the pipeline needs of the encoder. */
export interface PipelineContext {
  /** Whether this many bytes are encoded on the calling thread. */
  readonly inline: (bytes: number) => boolean;
  readonly runner: (bytes: number) => Run;
  readonly workers: () => EncoderPool;
  /** Compressed segments earlier builds stored for this codec, for the workers to reuse. */
  readonly cached: (codecId: string) => readonly (readonly [string, CachedMember])[];
  /** Once nothing is in flight after a failure: a broken pool is closed here. */
  readonly afterFailure: () => Promise<void>;
}

/**
 * The segment pipeline over the given parts, in stream order. Results come back out of
 * order and are consumed in order; a segment goes out only when a slot is free, so memory
 * stays flat whatever the layer's size.
 */
export async function encodeParts(
  ctx: PipelineContext,
  job: LayerJob,
  ranges: readonly PartRange[],
): Promise<NewPart[]> {
  if (ranges.length === 0) return [];
  const { request, codec, headerLengths, files, captured } = job;
  const { entries } = request;
  const plans = ranges.map((range) => {
    const slice = entries.slice(range.start, range.end);
    const layout = planSegments(
      slice.map((e, k) => ({
        name: e.header.name,
        headerLength: headerLengths[range.start + k]!,
        size: e.header.size,
      })),
    );
    return { range, layout };
  });
  const total = plans.reduce((n, p) => n + p.layout.total, 0);
  const slotSize = Math.max(...plans.flatMap((p) => p.layout.segments.map((s) => s.end - s.start)));
  // Enough lookahead that one slow segment does not idle the other workers.
  const inline = ctx.inline(total);
  const run = ctx.runner(total);
  const slotCount = inline ? 1 : ctx.workers().size * 4 + 2;
  // Stored blocks add 5 bytes per 64 KiB and deflate at worst a little more: 1% and a
  // kilobyte of headroom, with a transfer as the fallback for anything bigger.
  const outputSize = codec.compression === 'none' ? 0 : Math.ceil(slotSize * 1.01) + 1024;
  const setup: EncodeSetup = {
    type: 'setup',
    slots: new SharedArrayBuffer(slotSize * slotCount),
    slotSize,
    outputs: new SharedArrayBuffer(outputSize * slotCount),
    outputSize,
    cache: codec.compression === 'none' ? [] : ctx.cached(codec.codecId),
  };
  const env = envOf(setup);
  if (!inline) ctx.workers().broadcast(setup);

  const writers: PartWriter[] = [];
  try {
    for (const p of plans)
      writers.push(new PartWriter(request.stagingDir, codec.compression, p.layout.total));
  } catch (err) {
    await Promise.allSettled(writers.map((w) => w.abandon()));
    throw err;
  }
  const tasks = plans.flatMap((p, part) =>
    buildTasks(
      p.layout,
      entries,
      p.range.start,
      headerLengths,
      codec,
      codec.compression === 'none' ? writers[part]!.fd : null,
    ).map((task) => ({ task, part })),
  );
  let done = 0;
  const emit = (r: SegmentResult, task: SegmentTask, part: number): void => {
    const raw = env.slots.subarray(r.slot * slotSize, r.slot * slotSize + task.length);
    const writer = writers[part]!;
    if (r.compressedLength === null) writer.wroteRaw(raw);
    else {
      const compressed =
        r.overflow ??
        env.outputs.subarray(r.slot * outputSize, r.slot * outputSize + r.compressedLength);
      // Written on libuv's threads, so this thread goes straight on hashing; the slot
      // is free again once the write is done.
      writes.set(r.slot, writer.write(raw, compressed, r.key, r.memberSha256, r.reused));
    }
    for (const f of r.files) files[f.entry] = { sha256: f.sha256, sha1: f.sha1 };
    for (const c of r.captured) captured.set(`/${entries[c.entry]!.header.name}`, c.bytes);
    done += raw.length;
    request.onProgress?.(done, total, 'encode');
  };

  const free = Array.from({ length: slotCount }, (_, i) => i);
  const pending = new Map<number, Promise<WorkerReply>>();
  const writes = new Map<number, Promise<void>>();
  const takeSlot = async (): Promise<number> => {
    const slot = free.pop()!;
    await writes.get(slot);
    writes.delete(slot);
    return slot;
  };
  const out: NewPart[] = [];
  try {
    let next = 0;
    for (let emitted = 0; emitted < tasks.length; emitted++) {
      while (next < tasks.length && free.length > 0) {
        const slot = await takeSlot();
        // Awaited in order, later: a failing worker fails them all at once meanwhile.
        pending.set(next, awaitedLater(run({ ...tasks[next]!.task, slot }, env)));
        next++;
      }
      const reply = await pending.get(emitted)!;
      pending.delete(emitted);
      if (reply.type === 'error') {
        if (reply.code === 'E_SOURCE_CHANGED')
          throw new SourceError('E_SOURCE_CHANGED', reply.path, reply.message);
        throw new Error(`layer encoding failed: ${reply.message}`);
      }
      if (reply.type !== 'result') throw new Error(`unexpected ${reply.type} reply to a segment`);
      const { task, part } = tasks[emitted]!;
      emit(reply, task, part);
      free.push(reply.slot);
      if (tasks[emitted + 1]?.part !== part) out.push(writers[part]!.finish());
    }
    await Promise.all(writes.values());
  } catch (err) {
    await Promise.allSettled([...pending.values(), ...writes.values()]);
    // A worker that died fails every job, after the pool has ended every worker (none is
    // still writing into these files); a broken pool is then replaced.
    await ctx.afterFailure();
    await Promise.allSettled(writers.map((w) => w.abandon()));
    throw err;
  }
  return out;
}
