import { createHash, randomBytes } from 'node:crypto';
import { close, closeSync, fsync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PlannedEntry } from '../../core/layer-plan.js';
import { wantsContent } from '../../core/sbom/capture.js';
import { planSegments, type StreamLayout } from '../../core/segments.js';
import { headerLength, paddingFor } from '../../core/tar/header.js';
import { SourceError } from '../../domain/build-errors.js';
import type { Digest } from '../../domain/digest.js';
import { layerMediaType } from '../../domain/media-types.js';
import type {
  EncodedLayer,
  EncodeRequest,
  FileDigests,
  LayerEncoder,
} from '../../ports/layer-encoder.js';
import { codecId, DEFAULT_LEVEL, LEVEL_RANGE, prepareCodec } from './codec.js';
import { WorkerPool } from './pool.js';
import {
  envOf,
  type EncodeSetup,
  type Piece,
  type SegmentResult,
  type SegmentTask,
  type WorkerReply,
} from './protocol.js';
import { SegmentCache, type MemberLocation } from './segment-cache.js';
import { failureOf, runSegment } from './segment-job.js';

const EMPTY_FILE: FileDigests = {
  sha256: createHash('sha256').digest('hex'),
  sha1: createHash('sha1').digest('hex'),
};

/** Below this a layer is encoded on the calling thread: starting workers would cost more. */
const INLINE_BYTES = 2 * 1024 * 1024;

const fsyncAsync = promisify(fsync);
const writeAsync = promisify(write);

async function writeAll(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let off = 0; off < bytes.length;) {
    const { bytesWritten } = await writeAsync(fd, bytes, off, bytes.length - off, position + off);
    off += bytesWritten;
  }
}
const closeAsync = promisify(close);

export interface EncoderOptions {
  readonly workers: number;
  /** Where the segment cache lives; null disables reuse. */
  readonly cacheFile: string | null;
  readonly blobPath: (digest: Digest) => string;
  readonly blobExists: (digest: Digest) => boolean;
}

/**
 * The encoder. The calling thread plans segments and encodes tar headers; workers read and
 * hash files into shared slots and compress; the calling thread then only hashes, in stream
 * order, and writes what compression produced (an uncompressed layer is written by the
 * workers themselves, each segment at its offset). Output depends on nothing but the
 * entries, the codec and the level.
 */
export class ParallelLayerEncoder implements LayerEncoder {
  private pool: WorkerPool | null = null;
  private cache: SegmentCache | null = null;
  private readonly written = new WeakMap<EncodedLayer, [string, Omit<MemberLocation, 'blob'>][]>();

  constructor(private readonly options: EncoderOptions) {}

  async encode(request: EncodeRequest): Promise<EncodedLayer> {
    const { compression } = request;
    const level = request.level ?? DEFAULT_LEVEL[compression];
    const [min, max] = LEVEL_RANGE[compression];
    if (compression !== 'none' && (level < min || level > max))
      throw new RangeError(`${compression} level must be ${min}-${max}`);
    await prepareCodec(compression);
    const codec = codecId(compression, level);

    const headers = request.entries.map((e) => headerLength(e.header));
    const layout = planSegments(
      request.entries.map((e, i) => ({
        name: e.header.name,
        headerLength: headers[i]!,
        size: e.header.size,
      })),
    );
    const tasks = buildTasks(layout, request.entries, headers, {
      compression,
      level,
      codecId: codec,
    });

    const inline = layout.total <= INLINE_BYTES || this.options.workers <= 1;
    const slotSize = Math.max(...layout.segments.map((s) => s.end - s.start));
    // Enough lookahead that one slow segment does not idle the other workers.
    const slotCount = inline ? 1 : this.workers().size * 4 + 2;
    const path = join(request.stagingDir, `layer-${randomBytes(6).toString('hex')}`);
    const fd = openSync(path, 'wx', 0o644);
    // Stored blocks add 5 bytes per 64 KiB and deflate at worst a little more: 1% and a
    // kilobyte of headroom, with a transfer as the fallback for anything bigger.
    const outputSize = compression === 'none' ? 0 : Math.ceil(slotSize * 1.01) + 1024;
    const setup: EncodeSetup = {
      type: 'setup',
      slots: new SharedArrayBuffer(slotSize * slotCount),
      slotSize,
      outputs: new SharedArrayBuffer(outputSize * slotCount),
      outputSize,
      fd: compression === 'none' ? fd : null,
      cache:
        compression === 'none'
          ? []
          : (this.segmentCache()?.snapshot(codec, this.options.blobPath) ?? []),
    };
    const env = envOf(setup);
    if (!inline) this.workers().setup(setup);
    const run = (task: SegmentTask): Promise<WorkerReply> => {
      if (!inline) return this.workers().run(task);
      try {
        return Promise.resolve(runSegment(task, env));
      } catch (err) {
        return Promise.resolve(failureOf(task, err));
      }
    };

    const diffHash = createHash('sha256');
    const blobHash = createHash('sha256');
    const files: (FileDigests | undefined)[] = request.entries.map((e) =>
      e.header.type === 'file' && e.header.size === 0 ? EMPTY_FILE : undefined,
    );
    const captured = new Map<string, Uint8Array>();
    for (const e of request.entries) {
      if (e.header.type === 'file' && e.header.size === 0 && wantsContent(`/${e.header.name}`, 0))
        captured.set(`/${e.header.name}`, new Uint8Array());
    }
    const written: [string, Omit<MemberLocation, 'blob'>][] = [];
    let blobSize = 0;
    let rawDone = 0;
    let reusedBytes = 0;

    const emit = (r: SegmentResult, task: SegmentTask): void => {
      const raw = env.slots.subarray(r.slot * slotSize, r.slot * slotSize + task.length);
      if (r.compressedLength === null) {
        blobHash.update(raw);
        blobSize += raw.length;
      } else {
        const compressed =
          r.overflow ??
          env.outputs.subarray(r.slot * outputSize, r.slot * outputSize + r.compressedLength);
        diffHash.update(raw);
        blobHash.update(compressed);
        // Written on libuv's threads, so this thread goes straight on hashing; the slot
        // is free again once the write is done.
        writes.set(r.slot, writeAll(fd, compressed, blobSize));
        if (r.key !== null && r.memberSha256 !== null)
          written.push([
            r.key,
            { offset: blobSize, length: compressed.length, sha256: r.memberSha256 },
          ]);
        blobSize += compressed.length;
      }
      rawDone += raw.length;
      if (r.reused) reusedBytes += raw.length;
      for (const f of r.files) files[f.entry] = { sha256: f.sha256, sha1: f.sha1 };
      for (const c of r.captured)
        captured.set(`/${request.entries[c.entry]!.header.name}`, c.bytes);
      request.onProgress?.(rawDone, layout.total);
    };

    // Results come back out of order and are consumed in order; a segment goes out only
    // when a slot is free, so memory stays flat whatever the layer's size.
    const free = Array.from({ length: slotCount }, (_, i) => i);
    const pending = new Map<number, Promise<WorkerReply>>();
    const writes = new Map<number, Promise<void>>();
    const takeSlot = async (): Promise<number> => {
      const slot = free.pop()!;
      await writes.get(slot);
      writes.delete(slot);
      return slot;
    };
    try {
      let next = 0;
      for (let emitted = 0; emitted < tasks.length; emitted++) {
        while (next < tasks.length && free.length > 0) {
          pending.set(next, run({ ...tasks[next]!, slot: await takeSlot() }));
          next++;
        }
        const reply = await pending.get(emitted)!;
        pending.delete(emitted);
        if (reply.type === 'error') {
          if (reply.code === 'E_SOURCE_CHANGED')
            throw new SourceError('E_SOURCE_CHANGED', reply.path, reply.message);
          throw new Error(`layer encoding failed: ${reply.message}`);
        }
        emit(reply, tasks[emitted]!);
        free.push(reply.slot);
      }
      await Promise.all(writes.values());
    } catch (err) {
      await Promise.allSettled([...pending.values(), ...writes.values()]);
      closeSync(fd);
      throw err;
    }

    const digest = `sha256:${blobHash.digest('hex')}` as Digest;
    const diffId = compression === 'none' ? digest : (`sha256:${diffHash.digest('hex')}` as Digest);
    const layer: EncodedLayer = {
      descriptor: { mediaType: layerMediaType[compression], digest, size: blobSize },
      diffId,
      path,
      // Flushed in the background while the build writes the measurement and SBOM; the
      // store's commit waits for it before the blob becomes visible.
      flushed: fsyncAsync(fd).finally(() => closeAsync(fd)),
      files,
      captured,
      reusedBytes,
      rawBytes: layout.total,
    };
    this.written.set(layer, written);
    return layer;
  }

  remember(committed: readonly EncodedLayer[]): void {
    const cache = this.segmentCache();
    if (!cache) return;
    const added: [string, MemberLocation][] = [];
    for (const layer of committed) {
      for (const [key, loc] of this.written.get(layer) ?? [])
        added.push([key, { ...loc, blob: layer.descriptor.digest }]);
    }
    if (added.length > 0) cache.record(added, this.options.blobExists);
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }

  /** Start the workers now, so that they load while the caller plans. */
  warmUp(): void {
    if (this.options.workers > 1) this.workers();
  }

  private workers(): WorkerPool {
    this.pool ??= new WorkerPool(this.options.workers);
    return this.pool;
  }

  private segmentCache(): SegmentCache | null {
    if (this.options.cacheFile === null) return null;
    this.cache ??= new SegmentCache(this.options.cacheFile);
    return this.cache;
  }
}

/**
 * Cut the planned stream into tasks: headers, file ranges and padding per segment. Cuts
 * fall only at entry ends or inside file data (core/segments.ts), never inside a header.
 */
function buildTasks(
  layout: StreamLayout,
  entries: readonly PlannedEntry[],
  headerLengths: readonly number[],
  codec: Pick<SegmentTask, 'compression' | 'level' | 'codecId'>,
): SegmentTask[] {
  const tasks: SegmentTask[] = [];
  let i = 0;
  // How much of the current entry's data earlier segments already took.
  let dataDone = 0;
  for (const seg of layout.segments) {
    const pieces: Piece[] = [];
    let pos = seg.start;
    while (pos < seg.end) {
      if (i === entries.length) {
        pieces.push({ kind: 'zeros', length: seg.end - pos }); // end-of-archive blocks
        break;
      }
      const e = entries[i]!;
      const at = layout.offsets[i]!;
      const dataStart = at + headerLengths[i]!;
      const { size } = e.header;
      const end = dataStart + size + paddingFor(size);
      if (pos === at) {
        pieces.push({ kind: 'header', header: e.header });
        pos = dataStart;
        dataDone = 0;
      }
      if (pos < dataStart + size && e.file) {
        const take = Math.min(dataStart + size, seg.end) - pos;
        pieces.push({
          kind: 'file',
          entry: i,
          file: e.file,
          offset: dataDone,
          length: take,
          first: dataDone === 0,
          capture: wantsContent(`/${e.header.name}`, size),
        });
        dataDone += take;
        pos += take;
      }
      if (pos < end && pos >= dataStart + size) {
        const pad = Math.min(end, seg.end) - pos;
        pieces.push({ kind: 'zeros', length: pad });
        pos += pad;
      }
      if (pos === end) i++;
    }
    tasks.push({
      type: 'segment',
      id: seg.index,
      slot: -1,
      length: seg.end - seg.start,
      pieces,
      ...codec,
      writeAt: codec.compression === 'none' ? seg.start : null,
    });
  }
  return tasks;
}
