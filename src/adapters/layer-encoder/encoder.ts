import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { wantsContent } from '../../core/sbom/capture.js';
import { planSegments, type StreamLayout } from '../../core/segments.js';
import { encodeHeader, END_OF_ARCHIVE, paddingFor } from '../../core/tar/header.js';
import { SourceError } from '../../domain/build-errors.js';
import type { Digest } from '../../domain/digest.js';
import { layerMediaType } from '../../domain/media-types.js';
import type {
  EncodedLayer,
  EncodeRequest,
  FileDigests,
  LayerEncoder,
} from '../../ports/layer-encoder.js';
import type { PlannedEntry } from '../../core/layer-plan.js';
import { codecId, DEFAULT_LEVEL, LEVEL_RANGE } from './codec.js';
import { WorkerPool } from './pool.js';
import type { Piece, SegmentResult, SegmentTask, WorkerReply } from './protocol.js';
import { SegmentCache, type MemberLocation } from './segment-cache.js';
import { failureOf, runSegment } from './segment-job.js';

const EMPTY_FILE: FileDigests = {
  sha256: createHash('sha256').digest('hex'),
  sha1: createHash('sha1').digest('hex'),
};

/** Below this a layer is encoded on the calling thread: starting workers would cost more. */
const INLINE_BYTES = 2 * 1024 * 1024;

export interface EncoderOptions {
  readonly workers: number;
  /** Where the segment cache lives; null disables reuse. */
  readonly cacheFile: string | null;
  readonly blobPath: (digest: Digest) => string;
  readonly blobExists: (digest: Digest) => boolean;
}

/**
 * The encoder: the calling thread plans segments, encodes tar headers, and then only hashes
 * and writes, in stream order, what the workers return; workers read and hash files and
 * compress. Output depends on nothing but the entries, codec and level.
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
    const codec = codecId(compression, level);

    const headers = request.entries.map((e) => encodeHeader(e.header));
    const layout = planSegments(
      request.entries.map((e, i) => ({
        name: e.header.name,
        headerLength: headers[i]!.length,
        size: e.header.size,
      })),
    );
    const tasks = buildTasks(layout, request.entries, headers, {
      compression,
      level,
      codecId: codec,
    });

    const inline = layout.total <= INLINE_BYTES || this.options.workers <= 1;
    const cacheEntries =
      compression === 'none'
        ? []
        : (this.segmentCache()?.snapshot(codec, this.options.blobPath) ?? []);
    const inlineCache = inline ? new Map(cacheEntries) : null;
    if (!inline) this.workers().setCache(cacheEntries);
    const run = (task: SegmentTask): Promise<WorkerReply> => {
      if (!inline) return this.workers().run(task);
      try {
        return Promise.resolve(runSegment({ ...task, cache: inlineCache }));
      } catch (err) {
        return Promise.resolve(failureOf(task.id, err));
      }
    };

    const path = join(request.stagingDir, `layer-${randomBytes(6).toString('hex')}`);
    const fd = openSync(path, 'wx', 0o644);
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

    const emit = (r: SegmentResult): void => {
      if (compression !== 'none') diffHash.update(r.raw);
      blobHash.update(r.compressed);
      for (let off = 0; off < r.compressed.length;)
        off += writeSync(fd, r.compressed, off, r.compressed.length - off);
      if (r.key !== null && r.memberSha256 !== null)
        written.push([
          r.key,
          { offset: blobSize, length: r.compressed.length, sha256: r.memberSha256 },
        ]);
      blobSize += r.compressed.length;
      rawDone += r.raw.length;
      if (r.reused) reusedBytes += r.raw.length;
      for (const f of r.files) files[f.entry] = { sha256: f.sha256, sha1: f.sha1 };
      for (const c of r.captured)
        captured.set(`/${request.entries[c.entry]!.header.name}`, c.bytes);
      request.onProgress?.(rawDone, layout.total);
    };

    // Results come back out of order; they are written in order, with a bounded window of
    // segments in flight so memory stays flat whatever the layer's size.
    const window = inline ? 1 : this.workers().size * 3;
    const pending = new Map<number, Promise<WorkerReply>>();
    try {
      let next = 0;
      for (let emitted = 0; emitted < tasks.length; emitted++) {
        while (next < tasks.length && next - emitted < window) {
          pending.set(next, run(tasks[next]!));
          next++;
        }
        const reply = await pending.get(emitted)!;
        pending.delete(emitted);
        if (reply.type === 'error') {
          if (reply.code === 'E_SOURCE_CHANGED')
            throw new SourceError('E_SOURCE_CHANGED', reply.path, reply.message);
          throw new Error(`layer encoding failed: ${reply.message}`);
        }
        emit(reply);
      }
    } finally {
      closeSync(fd);
      // Let in-flight work settle so no rejection goes unhandled.
      await Promise.allSettled(pending.values());
    }

    const digest = `sha256:${blobHash.digest('hex')}` as Digest;
    const diffId = compression === 'none' ? digest : (`sha256:${diffHash.digest('hex')}` as Digest);
    const layer: EncodedLayer = {
      descriptor: { mediaType: layerMediaType[compression], digest, size: blobSize },
      diffId,
      path,
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

/** Cut the planned stream into tasks: header bytes, file ranges and padding per segment. */
function buildTasks(
  layout: StreamLayout,
  entries: readonly PlannedEntry[],
  headers: readonly Buffer[],
  codec: Pick<SegmentTask, 'compression' | 'level' | 'codecId'>,
): SegmentTask[] {
  type Region = { start: number; end: number; make: (from: number, to: number) => Piece };
  const regions: Region[] = [];
  entries.forEach((e, i) => {
    const at = layout.offsets[i]!;
    const header = headers[i]!;
    regions.push({
      start: at,
      end: at + header.length,
      make: (a, b) => ({ kind: 'bytes', data: header.subarray(a, b) }),
    });
    const dataStart = at + header.length;
    const { size } = e.header;
    if (size > 0 && e.file) {
      const file = e.file;
      const capture = wantsContent(`/${e.header.name}`, size);
      regions.push({
        start: dataStart,
        end: dataStart + size,
        make: (a, b) => ({
          kind: 'file',
          entry: i,
          file,
          offset: a,
          length: b - a,
          first: a === 0,
          capture,
        }),
      });
    }
    const pad = paddingFor(size);
    if (pad > 0)
      regions.push({
        start: dataStart + size,
        end: dataStart + size + pad,
        make: (a, b) => ({ kind: 'zeros', length: b - a }),
      });
  });
  regions.push({
    start: layout.total - END_OF_ARCHIVE,
    end: layout.total,
    make: (a, b) => ({ kind: 'zeros', length: b - a }),
  });

  const tasks: SegmentTask[] = [];
  let r = 0;
  for (const seg of layout.segments) {
    const pieces: Piece[] = [];
    while (r < regions.length && regions[r]!.end <= seg.start) r++;
    for (let k = r; k < regions.length && regions[k]!.start < seg.end; k++) {
      const region = regions[k]!;
      const from = Math.max(seg.start, region.start) - region.start;
      const to = Math.min(seg.end, region.end) - region.start;
      if (to > from) pieces.push(region.make(from, to));
    }
    tasks.push({
      type: 'segment',
      id: seg.index,
      length: seg.end - seg.start,
      pieces,
      ...codec,
      cache: null,
    });
  }
  return tasks;
}
