import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { looksIncompressible } from '../../core/entropy.js';
import { MIN_STORED_RUN, planRuns } from '../../core/gzip.js';
import { encodeHeader } from '../../core/tar/header.js';
import { sameIdentity, type SourceFile } from '../../domain/source.js';
import { errnoOf } from '../shared/errno.js';
import { isIntact } from '../shared/intact-file.js';
import { gzipMember, zstdFrame } from './codec.js';
import type {
  CachedMember,
  CheckResult,
  CheckTask,
  HashResult,
  HashTask,
  JobEnv,
  Piece,
  SegmentFailure,
  SegmentResult,
  SegmentTask,
  WorkerReply,
  WorkerTask,
} from './protocol.js';

/**
 * The jobs of an encoder worker (run inline for tiny layers). A segment job assembles the
 * raw segment in its shared slot from headers and file content read here, hashes each file
 * it starts (unless an earlier pass did), then writes it (uncompressed layers) or
 * compresses it (or reuses its compressed form from an earlier build). A hash job hashes
 * whole files before anything is encoded; a check job re-hashes a stored blob.
 */

export class ChangedError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const SCRATCH = 1024 * 1024;

export function runSegment(task: SegmentTask, env: JobEnv): SegmentResult {
  const base = task.slot * env.slotSize;
  const raw = env.slots.subarray(base, base + task.length);
  const files: SegmentResult['files'][number][] = [];
  const captured: SegmentResult['captured'][number][] = [];
  const marks: { start: number; end: number; store: boolean }[] = [];
  const judge = task.compression === 'gzip';
  // The cache key commits to the segment's bytes without hashing them again: header and
  // padding bytes as they are, a whole file by the sha256 just computed for the
  // measurement, and only a partial file (a chunk of a big one) hashed on its own.
  const key = task.compression === 'none' ? null : createHash('sha256').update(task.codecId);
  let pos = 0;
  for (const piece of task.pieces) {
    const end = place(piece, raw, pos, files, captured);
    if (key) {
      if (piece.kind === 'file') {
        const whole =
          piece.first && piece.length === piece.file.size
            ? files[files.length - 1]?.sha256
            : undefined;
        key.update(
          `\nfile ${piece.length} ${whole ?? createHash('sha256').update(raw.subarray(pos, end)).digest('hex')}\n`,
        );
      } else key.update(raw.subarray(pos, end));
    }
    if (judge && piece.kind === 'file' && end - pos >= MIN_STORED_RUN)
      marks.push({ start: pos, end, store: false });
    pos = end;
  }
  if (pos !== task.length)
    throw new Error(`segment ${task.id}: assembled ${pos} bytes, expected ${task.length}`);

  const result = { type: 'result' as const, id: task.id, slot: task.slot, files, captured };
  if (!key) {
    if (task.writeAt !== null && task.fd !== null) writeAll(task.fd, raw, task.writeAt);
    return {
      ...result,
      compressedLength: null,
      overflow: null,
      key: null,
      memberSha256: null,
      reused: false,
    };
  }
  const out = env.outputs.subarray(task.slot * env.outputSize, (task.slot + 1) * env.outputSize);
  const cacheKey = `${key.digest('hex')}:${task.codecId}`;
  const cached = env.cache.get(cacheKey);
  if (cached && cached.length <= out.length && readCached(cached, out)) {
    return {
      ...result,
      compressedLength: cached.length,
      overflow: null,
      key: cacheKey,
      memberSha256: cached.sha256,
      reused: true,
    };
  }
  // Judged only now: a segment reused from the cache never needs it.
  const judged = marks.map((m) => ({
    ...m,
    store: looksIncompressible(raw.subarray(m.start, m.end)),
  }));
  const compressed =
    task.compression === 'gzip'
      ? gzipMember(raw, planRuns(judged, raw.length), task.level)
      : zstdFrame(raw, task.level);
  const memberSha256 = createHash('sha256').update(compressed).digest('hex');
  if (compressed.length > out.length) {
    return {
      ...result,
      compressedLength: compressed.length,
      overflow: transferable(compressed),
      key: cacheKey,
      memberSha256,
      reused: false,
    };
  }
  out.set(compressed);
  return {
    ...result,
    compressedLength: compressed.length,
    overflow: null,
    key: cacheKey,
    memberSha256,
    reused: false,
  };
}

function place(
  piece: Piece,
  out: Buffer,
  pos: number,
  files: SegmentResult['files'][number][],
  captured: SegmentResult['captured'][number][],
): number {
  switch (piece.kind) {
    case 'header': {
      const bytes = encodeHeader(piece.header);
      out.set(bytes, pos);
      return pos + bytes.length;
    }
    case 'zeros':
      out.fill(0, pos, pos + piece.length);
      return pos + piece.length;
    case 'file': {
      const { file } = piece;
      const fd = openSource(file);
      try {
        readExactly(fd, file, out, pos, piece.length, piece.offset);
        if (piece.first) {
          const head = out.subarray(pos, pos + piece.length);
          const digests = hashRest(fd, file, head, piece.capture, true);
          files.push({ entry: piece.entry, sha256: digests.sha256, sha1: digests.sha1! });
          if (digests.content) captured.push({ entry: piece.entry, bytes: digests.content });
        }
        // Checked after reading: a file swapped since the walk has another inode, and a
        // write before or during the read changes mtime or ctime.
        checkUnchanged(fstatSync(fd), file);
      } finally {
        closeSync(fd);
      }
      return pos + piece.length;
    }
  }
}

let scratch: Buffer | null = null;

/**
 * sha256 (and sha1, for the SBOM, when asked) of a whole file whose first `head.length`
 * bytes are already in `head`: the rest is read here (for a file larger than its segment,
 * other workers copy it).
 */
function hashRest(
  fd: number,
  file: SourceFile,
  head: Buffer,
  capture: boolean,
  withSha1: boolean,
): { sha256: string; sha1: string | null; content: Buffer | null } {
  const sha256 = createHash('sha256').update(head);
  const sha1 = withSha1 ? createHash('sha1').update(head) : null;
  const chunks: Buffer[] = capture ? [Buffer.from(head)] : [];
  for (let off = head.length; off < file.size;) {
    scratch ??= Buffer.allocUnsafeSlow(SCRATCH);
    const n = Math.min(SCRATCH, file.size - off);
    readExactly(fd, file, scratch, 0, n, off);
    const bytes = scratch.subarray(0, n);
    sha256.update(bytes);
    sha1?.update(bytes);
    if (capture) chunks.push(Buffer.from(bytes));
    off += n;
  }
  return {
    sha256: sha256.digest('hex'),
    sha1: sha1?.digest('hex') ?? null,
    content: capture ? Buffer.concat(chunks) : null,
  };
}

/**
 * A hash task: every file read and hashed whole (sha256 only: it is what finds stored
 * parts), and checked unchanged since the walk.
 */
export function runHash(task: HashTask): HashResult {
  const files: HashResult['files'][number][] = [];
  const captured: HashResult['captured'][number][] = [];
  for (const { entry, file, capture } of task.files) {
    const fd = openSource(file);
    try {
      const digests = hashRest(fd, file, Buffer.alloc(0), capture, false);
      checkUnchanged(fstatSync(fd), file);
      files.push({ entry, sha256: digests.sha256 });
      if (digests.content) captured.push({ entry, bytes: digests.content });
    } finally {
      closeSync(fd);
    }
  }
  return { type: 'hashed', id: task.id, files, captured };
}

/** A check task: does the stored blob still hold exactly the bytes its digest names? */
export function runCheck(task: CheckTask): CheckResult {
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH);
  return {
    type: 'checked',
    id: task.id,
    intact: isIntact(task.path, task.digest, task.size, scratch),
  };
}

/** Run any task, on a worker or (for small layers) on the calling thread. */
export function runTask(task: WorkerTask, env: JobEnv | null): WorkerReply {
  try {
    switch (task.type) {
      case 'segment':
        if (!env) throw new Error('segment before setup');
        return runSegment(task, env);
      case 'hash':
        return runHash(task);
      case 'check':
        return runCheck(task);
    }
  } catch (err) {
    return failureOf(task, err);
  }
}

function openSource(file: SourceFile): number {
  try {
    return openSync(file.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new ChangedError(
      file.abs,
      `could not be opened (${errnoOf(err) ?? String(err)}); it changed during the build`,
    );
  }
}

function checkUnchanged(st: Stats, file: SourceFile): void {
  if (!st.isFile() || !sameIdentity(st, file)) {
    throw new ChangedError(
      file.abs,
      'changed while the build was reading it; run the build again once the sources are settled',
    );
  }
}

function readExactly(
  fd: number,
  file: SourceFile,
  out: Buffer,
  at: number,
  length: number,
  position: number,
): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, at + done, length - done, position + done);
    if (n === 0) throw new ChangedError(file.abs, 'became shorter while the build was reading it');
    done += n;
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  for (let off = 0; off < bytes.length;)
    off += writeSync(fd, bytes, off, bytes.length - off, position + off);
}

/**
 * A member from an earlier build's blob, read into `out` and used only if it still hashes
 * to what was recorded: a damaged or altered blob is never copied into a new one.
 */
function readCached(member: CachedMember, out: Buffer): boolean {
  let fd: number;
  try {
    fd = openSync(member.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    let done = 0;
    while (done < member.length) {
      const n = readSync(fd, out, done, member.length - done, member.offset + done);
      if (n === 0) return false;
      done += n;
    }
    return (
      createHash('sha256').update(out.subarray(0, member.length)).digest('hex') === member.sha256
    );
  } finally {
    closeSync(fd);
  }
}

/** A buffer that owns its whole ArrayBuffer (never a slice of Node's pool), so it can be transferred. */
function transferable(buf: Uint8Array): Uint8Array {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf;
  const copy = Buffer.allocUnsafeSlow(buf.byteLength);
  copy.set(buf);
  return copy;
}

export function failureOf(task: WorkerTask, err: unknown): SegmentFailure {
  const base = {
    type: 'error' as const,
    id: task.id,
    slot: task.type === 'segment' ? task.slot : -1,
  };
  return err instanceof ChangedError
    ? { ...base, code: 'E_SOURCE_CHANGED', path: err.path, message: err.message }
    : {
        ...base,
        code: 'E_ENCODE',
        path: '',
        message: err instanceof Error ? (err.stack ?? err.message) : String(err),
      };
}
