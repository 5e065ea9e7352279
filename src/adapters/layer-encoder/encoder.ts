import { dirname, join } from 'node:path';
import type { PlannedEntry } from '../../core/layer-plan.js';
import {
  DEFAULT_PARTS,
  planParts,
  type PartOptions,
  type PartRange,
} from '../../core/layer-parts.js';
import { wantsContent } from '../../core/sbom/capture.js';
import type { StreamEntry } from '../../core/segments.js';
import { headerLength } from '../../core/tar/header.js';
import type { Digest } from '../../domain/digest.js';
import type { SourceFile } from '../../domain/source.js';
import type {
  EncodedLayer,
  EncodeRequest,
  HashAheadRequest,
  LayerEncoder,
} from '../../ports/layer-encoder.js';
import { assembleLayer } from './assemble-layer.js';
import { codecId, codecIdIfReady, DEFAULT_LEVEL, LEVEL_RANGE, prepareCodec } from './codec.js';
import { createEncoderPool, type EncoderPool } from './encoder-pool.js';
import { hashSources, type Hashed } from './hash-pass.js';
import { KnownDigests, type ReadFile } from './known-digests.js';
import {
  EMPTY_HASHED,
  newLayerJob,
  type LayerJob,
  type NewPart,
  type Run,
  type Written,
} from './layer-job.js';
import { SegmentCache, type MemberLocation, type StoredPart } from './segment-cache.js';
import { runTask } from './segment-job.js';
import { encodeParts, type PipelineContext } from './segment-pipeline.js';
import type { CodecChoice } from './segment-tasks.js';
import { checkReadTwice, findStoredParts, nothingStored } from './stored-parts.js';

/** Below this a layer is encoded on the calling thread: starting workers would cost more. */
const INLINE_BYTES = 2 * 1024 * 1024;

export interface EncoderOptions {
  readonly workers: number;
  /** Where the segment and part cache lives; null disables reuse. */
  readonly cacheFile: string | null;
  /** Authenticates the cache file (segment-cache.ts); required with a cacheFile. */
  readonly cacheSecret?: Uint8Array;
  readonly blobPath: (digest: Digest) => string;
  readonly blobExists: (digest: Digest) => boolean;
  /** How layers are cut into parts (tests use small ones); DEFAULT_PARTS otherwise. */
  readonly parts?: PartOptions;
  /** The clock (ms since the epoch) that decides which files have settled (known-digests.ts). */
  readonly now?: () => number;
}

/**
 * The encoder. A layer is cut into parts, each an OCI layer of its own (core/layer-parts.ts),
 * and each part into segments (core/segments.ts).
 *
 * When an earlier build recorded parts for this codec, every file is first hashed on the
 * workers (started by `hashAhead` while the caller plans) and each part's key computed from
 * its headers and file digests. A part the store already holds is used as it is, never
 * written again; its blob is re-hashed in the background before the build commits, and a
 * damaged one is encoded afresh (same content, same digest).
 *
 * The other parts go through the segment pipeline: the calling thread plans and orders;
 * workers read files into shared slots, hash them and compress, reusing compressed segments
 * of earlier builds; the calling thread then only hashes, in stream order, and writes what
 * compression produced (an uncompressed part is written by the workers themselves, each
 * segment at its offset). Output depends on nothing but the entries, the codec and the level.
 *
 * The cache (keys → blobs, diff_ids, members) lives in $INGOT_HOME/cache and is believed
 * only when its secret (in $INGOT_HOME/keys) vouches for it: a cache restored from an
 * untrusted CI job (cache poisoning) is an empty one, never a way to put other content
 * under this build's name.
 */
export class ParallelLayerEncoder implements LayerEncoder {
  private pool: EncoderPool | null = null;
  private cache: SegmentCache | null = null;
  private digests: KnownDigests | null = null;
  private readonly written = new WeakMap<EncodedLayer, Written>();
  /** Hash passes started by `hashAhead`, and when (files they read were read after). */
  private ahead: {
    readonly since: number;
    readonly work: Promise<{ codecId: string; hashed: Map<SourceFile, Hashed> } | null>;
  }[] = [];
  /** The pool holds one layer's slots at a time: pipelines run one after another. */
  private exclusive: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: EncoderOptions) {}

  hashAhead(request: HashAheadRequest): void {
    const since = this.now();
    const cache = this.segmentCache();
    const sources = request.files
      .filter((f) => f.file.size > 0)
      .map((f) => ({ file: f.file, capture: wantsContent(f.path, f.file.size) }));
    if (!cache || sources.length === 0) return;
    // The tasks go out now, synchronously: the caller goes on planning and will not yield.
    const level = request.level ?? DEFAULT_LEVEL[request.compression];
    const start = (id: string) =>
      cache.hasParts(id)
        ? this.hashUnknown(sources, this.runner(Infinity), request.onProgress).then((hashed) => ({
            codecId: id,
            hashed,
          }))
        : null;
    const id = codecIdIfReady(request.compression, level);
    const work = Promise.resolve(
      id !== null
        ? start(id)
        : prepareCodec(request.compression).then(() => start(codecId(request.compression, level))),
    );
    work.catch(() => undefined); // reported by the encode that awaits it
    this.ahead.push({ since, work });
  }

  async encode(request: EncodeRequest): Promise<EncodedLayer> {
    // Every file of this layer was read after this (the earliest pass that may have).
    const readSince = Math.min(this.now(), ...this.ahead.map((a) => a.since));
    const codec = await codecOf(request);
    const { headerLengths, stream, ranges } = this.layoutOf(request);
    const job = newLayerJob(request, codec, headerLengths);
    const run = this.runner(stream.reduce((n, e) => n + e.size, 0));

    // With parts of this codec stored, every file is hashed first to look them up.
    const cache = this.segmentCache();
    let stored = nothingStored(ranges);
    let first: readonly (Hashed | undefined)[] | null = null;
    if (cache?.hasParts(codec.codecId)) {
      first = await this.firstDigests(codec.codecId, request.entries, job.captured, run, request);
      stored = findStoredParts(cache, job, ranges, first, this.options.blobExists);
    }

    const missing = ranges.flatMap((_, i) => (stored.found[i] === null ? [i] : []));
    const encoded = await this.pipeline(
      job,
      missing.map((i) => ranges[i]!),
    );
    const made = new Map<number, NewPart>(missing.map((i, k) => [i, encoded[k]!]));
    if (first) checkReadTwice(job, ranges, made, first, (file) => this.forgetQuietly(file));

    const { layer, record } = assembleLayer(
      job,
      stream,
      ranges,
      stored,
      made,
      readSince,
      (part, range) => this.confirm(part, () => this.pipeline(job, [range])),
    );
    this.written.set(layer, record);
    return layer;
  }

  /** Each entry's tar header length, the tar stream's shape, and its cut into parts. */
  private layoutOf(request: EncodeRequest): {
    headerLengths: number[];
    stream: StreamEntry[];
    ranges: PartRange[];
  } {
    const headerLengths = request.entries.map((e) => headerLength(e.header));
    const stream: StreamEntry[] = request.entries.map((e, i) => ({
      name: e.header.name,
      headerLength: headerLengths[i]!,
      size: e.header.size,
    }));
    const options = this.options.parts ?? DEFAULT_PARTS;
    const ranges = planParts(stream, {
      ...options,
      maxParts: Math.min(options.maxParts, request.maxParts ?? Infinity),
    });
    return { headerLengths, stream, ranges };
  }

  remember(committed: readonly EncodedLayer[]): void {
    this.ahead = [];
    const cache = this.segmentCache();
    if (!cache) return;
    const members: (readonly [string, MemberLocation])[] = [];
    const parts: (readonly [string, StoredPart])[] = [];
    const read: ReadFile[] = [];
    for (const layer of committed) {
      const w = this.written.get(layer);
      if (w) {
        members.push(...w.members);
        parts.push(...w.parts);
        read.push(...w.read);
      }
    }
    if (members.length > 0 || parts.length > 0)
      cache.record(members, parts, this.options.blobExists);
    if (read.length > 0) this.knownDigests()?.record(read);
  }

  async close(): Promise<void> {
    this.ahead = [];
    await this.pool?.close();
    this.pool = null;
  }

  /** Start the workers now, so that they load while the caller plans. */
  warmUp(): void {
    if (this.options.workers > 1) this.workers().start();
  }

  private inline(bytes: number): boolean {
    return this.options.workers <= 1 || bytes <= INLINE_BYTES;
  }

  /**
   * Tasks go to the workers, or run on this thread when there is too little to share.
   * Hashes and checks are sent at once (the pool's post), segments as slots free up.
   */
  private runner(bytes: number): Run {
    const inline = this.inline(bytes);
    return (task, env = null) => {
      if (inline) return Promise.resolve(runTask(task, env));
      switch (task.type) {
        case 'segment':
          return this.workers().run(task);
        case 'hash':
          return this.workers().post(
            task,
            task.files.reduce((n, f) => n + f.file.size, 0),
          );
        case 'check':
          return this.workers().post(task, task.size);
      }
    };
  }

  /**
   * Every file's sha256 before encoding, to look parts up: from `hashAhead` where it ran for
   * this codec, remembered or hashed now otherwise.
   */
  private async firstDigests(
    codec: string,
    entries: readonly PlannedEntry[],
    captured: Map<string, Uint8Array>,
    run: Run,
    request: EncodeRequest,
  ): Promise<(Hashed | undefined)[]> {
    const known = new Map<SourceFile, Hashed>();
    // A pass that failed (a file changed meanwhile) leaves its files to be hashed here,
    // where the same change fails this build with the file's name.
    for (const ahead of await Promise.allSettled(this.ahead.map((a) => a.work))) {
      if (ahead.status === 'fulfilled' && ahead.value?.codecId === codec)
        for (const [file, h] of ahead.value.hashed) known.set(file, h);
    }
    const rest = entries.flatMap((e) =>
      e.file && e.header.size > 0 && !known.has(e.file)
        ? [{ file: e.file, capture: wantsContent(`/${e.header.name}`, e.header.size) }]
        : [],
    );
    if (rest.length > 0) {
      const hashed = await this.hashUnknown(rest, run, (done, total) =>
        request.onProgress?.(done, total, 'hash'),
      );
      for (const [file, h] of hashed) known.set(file, h);
    }
    return entries.map((e) => {
      if (e.header.type !== 'file') return undefined;
      if (e.header.size === 0) return EMPTY_HASHED;
      const h = e.file && known.get(e.file);
      if (!h) throw new Error(`no digest for ${e.header.name}`);
      if (h.content) captured.set(`/${e.header.name}`, h.content);
      return h;
    });
  }

  /**
   * Every file's sha256: as an earlier build read it where the file's identity has not
   * changed since (known-digests.ts), read and hashed on the workers otherwise. Files the
   * SBOM wants the content of are always read.
   */
  private async hashUnknown(
    sources: readonly { readonly file: SourceFile; readonly capture: boolean }[],
    run: Run,
    onProgress?: (done: number, total: number) => void,
  ): Promise<Map<SourceFile, Hashed>> {
    const digests = this.knownDigests();
    const known = new Map<SourceFile, Hashed>();
    const unknown = sources.filter(({ file, capture }) => {
      const sha256 = capture ? undefined : digests?.lookup(file);
      if (sha256 !== undefined) known.set(file, { sha256, content: null, remembered: true });
      return sha256 === undefined;
    });
    if (unknown.length === 0) return known;
    const hashed = await hashSources(unknown, run, onProgress);
    for (const [file, h] of hashed) known.set(file, h);
    return known;
  }

  /** Drop a stale remembered digest; if the cache cannot be written, the build fails anyway. */
  private forgetQuietly(file: SourceFile): void {
    try {
      this.knownDigests()?.forget([file]);
    } catch {
      // the error the caller throws says what to do (--no-cache)
    }
  }

  /**
   * A stored part is committed only once its blob re-hashes to its digest (checked in the
   * background while the build writes its measurement and SBOM). A damaged one is encoded
   * again: the same content gives the same digest and size, which is checked, so the
   * manifest already written stays right.
   */
  private async confirm(
    stored: StoredPart,
    encodeAgain: () => Promise<NewPart[]>,
  ): Promise<string | null> {
    const reply = await this.runner(stored.size)({
      type: 'check',
      id: 0,
      path: this.options.blobPath(stored.digest),
      size: stored.size,
      digest: stored.digest,
    });
    if (reply.type === 'checked' && reply.intact) return null;
    const [again] = await encodeAgain();
    const path = await again!.part.staged;
    const { digest, size } = again!.part.descriptor;
    if (digest !== stored.digest || size !== stored.size)
      throw new Error(
        `the store's ${stored.digest} is damaged, and encoding its content again gave ${digest} (a source changed without its stat showing it?); build again with --no-cache`,
      );
    return path;
  }

  private pipeline(job: LayerJob, ranges: readonly PartRange[]): Promise<NewPart[]> {
    const result = this.exclusive.then(() => encodeParts(this.pipelineContext, job, ranges));
    this.exclusive = result.catch(() => undefined);
    return result;
  }

  private readonly pipelineContext: PipelineContext = {
    inline: (bytes) => this.inline(bytes),
    runner: (bytes) => this.runner(bytes),
    workers: () => this.workers(),
    cached: (id) => this.segmentCache()?.snapshot(id, this.options.blobPath) ?? [],
    afterFailure: async () => {
      if (this.pool?.isBroken) await this.close();
    },
  };

  private workers(): EncoderPool {
    this.pool ??= createEncoderPool(this.options.workers);
    return this.pool;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Beside the segment cache, under the same secret; none without a cache. */
  private knownDigests(): KnownDigests | null {
    const cache = this.segmentCache();
    if (!cache || this.options.cacheFile === null) return null;
    this.digests ??= new KnownDigests(
      join(dirname(this.options.cacheFile), 'known-digests-v1'),
      this.options.cacheSecret!,
    );
    return this.digests;
  }

  private segmentCache(): SegmentCache | null {
    if (this.options.cacheFile === null) return null;
    if (!this.options.cacheSecret) throw new Error('a build cache needs its secret');
    this.cache ??= new SegmentCache(this.options.cacheFile, this.options.cacheSecret);
    return this.cache;
  }
}

/** The codec and level a request asks for, checked, with its codec loaded. */
async function codecOf(request: EncodeRequest): Promise<CodecChoice> {
  const { compression } = request;
  const level = request.level ?? DEFAULT_LEVEL[compression];
  const [min, max] = LEVEL_RANGE[compression];
  if (compression !== 'none' && (level < min || level > max))
    throw new RangeError(`${compression} level must be ${min}-${max}`);
  await prepareCodec(compression);
  return { compression, level, codecId: codecId(compression, level) };
}
