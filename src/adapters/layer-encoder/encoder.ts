import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { PlannedEntry } from '../../core/layer-plan.js';
import {
  DEFAULT_PARTS,
  entryBytes,
  planParts,
  type PartOptions,
  type PartRange,
} from '../../core/layer-parts.js';
import { wantsContent } from '../../core/sbom/capture.js';
import { planSegments, type StreamEntry } from '../../core/segments.js';
import { END_OF_ARCHIVE, headerLength } from '../../core/tar/header.js';
import { SourceError } from '../../domain/build-errors.js';
import type { Digest } from '../../domain/digest.js';
import { layerMediaType } from '../../domain/media-types.js';
import type { SourceFile } from '../../domain/source.js';
import type {
  EncodedLayer,
  EncodedPart,
  EncodeRequest,
  FileDigests,
  HashAheadRequest,
  LayerEncoder,
} from '../../ports/layer-encoder.js';
import { codecId, codecIdIfReady, DEFAULT_LEVEL, LEVEL_RANGE, prepareCodec } from './codec.js';
import { KnownDigests, type ReadFile } from './known-digests.js';
import { hashSources, type Hashed } from './hash-pass.js';
import { fileCount, partKey } from './part-key.js';
import { PartWriter } from './part-writer.js';
import { WorkerPool } from './pool.js';
import {
  envOf,
  type EncodeSetup,
  type JobEnv,
  type SegmentResult,
  type SegmentTask,
  type WorkerReply,
  type WorkerTask,
} from './protocol.js';
import { SegmentCache, type MemberLocation, type StoredPart } from './segment-cache.js';
import { runTask } from './segment-job.js';
import { awaitedLater } from '../shared/later.js';
import { buildTasks, type CodecChoice } from './segment-tasks.js';

const EMPTY_FILE: FileDigests = {
  sha256: createHash('sha256').digest('hex'),
  sha1: createHash('sha1').digest('hex'),
};

const EMPTY_HASHED: Hashed = { sha256: EMPTY_FILE.sha256, content: null };

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

/** What `remember` records of a layer once its build is committed. */
interface Written {
  readonly members: (readonly [string, MemberLocation])[];
  readonly parts: (readonly [string, StoredPart])[];
  /** Every source file read, with its sha256, for the next build's KnownDigests. */
  readonly read: ReadFile[];
}

type Run = (task: WorkerTask, env?: JobEnv | null) => Promise<WorkerReply>;

/** One layer's encoding, as its parts' pipelines share it. */
interface LayerJob {
  readonly request: EncodeRequest;
  readonly codec: CodecChoice;
  readonly headerLengths: readonly number[];
  readonly files: (FileDigests | undefined)[];
  readonly captured: Map<string, Uint8Array>;
}
type NewPart = { part: EncodedPart; members: [string, Omit<MemberLocation, 'blob'>][] };

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
  private pool: WorkerPool | null = null;
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
    const { compression, entries } = request;
    const level = request.level ?? DEFAULT_LEVEL[compression];
    const [min, max] = LEVEL_RANGE[compression];
    if (compression !== 'none' && (level < min || level > max))
      throw new RangeError(`${compression} level must be ${min}-${max}`);
    await prepareCodec(compression);
    const codec: CodecChoice = { compression, level, codecId: codecId(compression, level) };

    const headerLengths = entries.map((e) => headerLength(e.header));
    const stream: StreamEntry[] = entries.map((e, i) => ({
      name: e.header.name,
      headerLength: headerLengths[i]!,
      size: e.header.size,
    }));
    const options = this.options.parts ?? DEFAULT_PARTS;
    const ranges = planParts(stream, {
      ...options,
      maxParts: Math.min(options.maxParts, request.maxParts ?? Infinity),
    });
    const files: (FileDigests | undefined)[] = entries.map((e) =>
      e.header.type === 'file' && e.header.size === 0 ? EMPTY_FILE : undefined,
    );
    const captured = new Map<string, Uint8Array>();
    for (const e of entries) {
      if (e.header.type === 'file' && e.header.size === 0 && wantsContent(`/${e.header.name}`, 0))
        captured.set(`/${e.header.name}`, new Uint8Array());
    }
    const run = this.runner(stream.reduce((n, e) => n + e.size, 0));
    const job: LayerJob = { request, codec, headerLengths, files, captured };

    const cache = this.segmentCache();
    const found: (StoredPart | null)[] = ranges.map(() => null);
    const keys: (string | undefined)[] = [];
    let first: readonly (Hashed | undefined)[] | null = null;
    if (cache?.hasParts(codec.codecId)) {
      const hashed = await this.firstDigests(codec.codecId, entries, captured, run, request);
      first = hashed;
      const sha256Of = (i: number) => hashed[i]?.sha256;
      ranges.forEach((r, i) => {
        const part = cache.part((keys[i] = partKey(codec.codecId, entries, r, sha256Of)));
        if (
          !part ||
          part.sha1s.length !== 40 * fileCount(entries, r) ||
          !this.options.blobExists(part.digest)
        )
          return;
        found[i] = part;
        let k = 0;
        for (let e = r.start; e < r.end; e++) {
          if (entries[e]!.header.type !== 'file') continue;
          files[e] = { sha256: sha256Of(e)!, sha1: part.sha1s.slice(40 * k, 40 * ++k) };
        }
      });
    }

    const missing = ranges.flatMap((_, i) => (found[i] === null ? [i] : []));
    const made = new Map<number, NewPart>();
    const encoded = await this.pipeline(
      job,
      missing.map((i) => ranges[i]!),
    );
    missing.forEach((i, k) => made.set(i, encoded[k]!));
    // Files read twice (hashed first, encoded second) must have read the same both times.
    // A remembered digest the bytes contradict was stale (the file changed and its stat did
    // not show it); the same file may sit in a part reused on that digest, so the build
    // fails, having forgotten the digest so that the next build reads the file.
    if (first)
      for (const i of made.keys())
        for (let e = ranges[i]!.start; e < ranges[i]!.end; e++) {
          const before = first[e];
          if (before === undefined || files[e]?.sha256 === before.sha256) continue;
          const file = entries[e]!.file!;
          if (before.remembered) this.forgetQuietly(file);
          throw new SourceError(
            'E_SOURCE_CHANGED',
            file.abs,
            before.remembered
              ? 'changed without its stat showing it (mtime, ctime and size as an earlier build saw them); its remembered digest is now forgotten: run the build again, or build with --no-cache'
              : 'changed while the build was reading it; run the build again once the sources are settled',
          );
        }

    const parts: EncodedPart[] = [];
    const record: Written = { members: [], parts: [], read: [] };
    entries.forEach((e, i) => {
      const sha256 = files[i]?.sha256;
      if (e.file && e.header.size > 0 && sha256)
        record.read.push({ file: e.file, sha256, readSince });
    });
    for (const [i, range] of ranges.entries()) {
      const key = keys[i] ?? partKey(codec.codecId, entries, range, (e) => files[e]?.sha256);
      const stored = found[i];
      if (stored) {
        const rawBytes = rawBytesOf(stream, range);
        parts.push({
          descriptor: {
            mediaType: layerMediaType[compression],
            digest: stored.digest,
            size: stored.size,
          },
          diffId: stored.diffId,
          staged: awaitedLater(this.confirm(stored, () => this.pipeline(job, [range]))),
          rawBytes,
          reusedBytes: rawBytes,
          fromStore: true,
        });
        record.parts.push([key, stored]);
        continue;
      }
      const { part, members } = made.get(i)!;
      parts.push(part);
      const { digest, size } = part.descriptor;
      let sha1s = '';
      for (let e = range.start; e < range.end; e++)
        if (entries[e]!.header.type === 'file') sha1s += files[e]!.sha1;
      record.parts.push([key, { digest, size, diffId: part.diffId, sha1s }]);
      for (const [memberKey, loc] of members)
        record.members.push([memberKey, { ...loc, blob: digest }]);
    }
    const layer: EncodedLayer = {
      parts,
      files,
      captured,
      reusedBytes: parts.reduce((n, p) => n + p.reusedBytes, 0),
      rawBytes: parts.reduce((n, p) => n + p.rawBytes, 0),
    };
    this.written.set(layer, record);
    return layer;
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
    if (this.options.workers > 1) this.workers();
  }

  private inline(bytes: number): boolean {
    return this.options.workers <= 1 || bytes <= INLINE_BYTES;
  }

  /**
   * Tasks go to the workers, or run on this thread when there is too little to share.
   * Hashes and checks are sent at once (WorkerPool.post), segments as slots free up.
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
    const result = this.exclusive.then(() => this.encodeParts(job, ranges));
    this.exclusive = result.catch(() => undefined);
    return result;
  }

  /**
   * The segment pipeline over the given parts, in stream order. Results come back out of
   * order and are consumed in order; a segment goes out only when a slot is free, so memory
   * stays flat whatever the layer's size.
   */
  private async encodeParts(job: LayerJob, ranges: readonly PartRange[]): Promise<NewPart[]> {
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
    const slotSize = Math.max(
      ...plans.flatMap((p) => p.layout.segments.map((s) => s.end - s.start)),
    );
    // Enough lookahead that one slow segment does not idle the other workers.
    const inline = this.inline(total);
    const run = this.runner(total);
    const slotCount = inline ? 1 : this.workers().size * 4 + 2;
    // Stored blocks add 5 bytes per 64 KiB and deflate at worst a little more: 1% and a
    // kilobyte of headroom, with a transfer as the fallback for anything bigger.
    const outputSize = codec.compression === 'none' ? 0 : Math.ceil(slotSize * 1.01) + 1024;
    const setup: EncodeSetup = {
      type: 'setup',
      slots: new SharedArrayBuffer(slotSize * slotCount),
      slotSize,
      outputs: new SharedArrayBuffer(outputSize * slotCount),
      outputSize,
      cache:
        codec.compression === 'none'
          ? []
          : (this.segmentCache()?.snapshot(codec.codecId, this.options.blobPath) ?? []),
    };
    const env = envOf(setup);
    if (!inline) this.workers().setup(setup);

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
      // A worker that died fails every job at once while the others may still be writing
      // into these files: stop them before the descriptors close (and could be reused).
      if (this.pool?.isBroken) await this.close();
      await Promise.allSettled(writers.map((w) => w.abandon()));
      throw err;
    }
    return out;
  }

  private workers(): WorkerPool {
    this.pool ??= new WorkerPool(this.options.workers);
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

function rawBytesOf(stream: readonly StreamEntry[], range: PartRange): number {
  let n = END_OF_ARCHIVE;
  for (let i = range.start; i < range.end; i++) n += entryBytes(stream[i]!);
  return n;
}
