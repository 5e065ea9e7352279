import { createHash } from 'node:crypto';
import { entryBytes, type PartRange } from '../../core/layer-parts.js';
import { wantsContent } from '../../core/sbom/capture.js';
import type { StreamEntry } from '../../core/segments.js';
import { END_OF_ARCHIVE } from '../../core/tar/header.js';
import type { EncodedPart, EncodeRequest, FileDigests } from '../../ports/layer-encoder.js';
import type { Hashed } from './hash-pass.js';
import type { ReadFile } from './known-digests.js';
import type { JobEnv, WorkerReply, WorkerTask } from './protocol.js';
import type { MemberLocation, StoredPart } from './segment-cache.js';
import type { CodecChoice } from './segment-tasks.js';

/** How a task reaches the workers (or runs on the calling thread). */
export type Run = (task: WorkerTask, env?: JobEnv | null) => Promise<WorkerReply>;

/** One layer's encoding, as its parts' pipelines share it. */
export interface LayerJob {
  readonly request: EncodeRequest;
  readonly codec: CodecChoice;
  readonly headerLengths: readonly number[];
  /** Per entry, its digests once known (filled in as parts are found or encoded). */
  readonly files: (FileDigests | undefined)[];
  /** Content of the files the SBOM wants, by image path. */
  readonly captured: Map<string, Uint8Array>;
}

/** A part the segment pipeline wrote, with the cache entries of its compressed segments. */
export interface NewPart {
  readonly part: EncodedPart;
  readonly members: [string, Omit<MemberLocation, 'blob'>][];
}

/** What `remember` records of a layer once its build is committed. */
export interface Written {
  readonly members: (readonly [string, MemberLocation])[];
  readonly parts: (readonly [string, StoredPart])[];
  /** Every source file read, with its sha256, for the next build's KnownDigests. */
  readonly read: ReadFile[];
}

export const EMPTY_FILE: FileDigests = {
  sha256: createHash('sha256').digest('hex'),
  sha1: createHash('sha1').digest('hex'),
};

export const EMPTY_HASHED: Hashed = { sha256: EMPTY_FILE.sha256, content: null };

/** A layer's job before anything is read: only empty files are known already. */
export function newLayerJob(
  request: EncodeRequest,
  codec: CodecChoice,
  headerLengths: readonly number[],
): LayerJob {
  const { entries } = request;
  const files: (FileDigests | undefined)[] = entries.map((e) =>
    e.header.type === 'file' && e.header.size === 0 ? EMPTY_FILE : undefined,
  );
  const captured = new Map<string, Uint8Array>();
  for (const e of entries) {
    if (e.header.type === 'file' && e.header.size === 0 && wantsContent(`/${e.header.name}`, 0))
      captured.set(`/${e.header.name}`, new Uint8Array());
  }
  return { request, codec, headerLengths, files, captured };
}

/** Uncompressed bytes of a part: its entries and the end-of-archive marker. */
export function rawBytesOf(stream: readonly StreamEntry[], range: PartRange): number {
  let n = END_OF_ARCHIVE;
  for (let i = range.start; i < range.end; i++) n += entryBytes(stream[i]!);
  return n;
}
