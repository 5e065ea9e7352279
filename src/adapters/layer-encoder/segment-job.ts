import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import type { SourceFile } from '../../domain/source.js';
import { errnoOf } from '../shared/errno.js';
import { compressSegment } from './codec.js';
import type {
  CachedMember,
  Piece,
  SegmentFailure,
  SegmentResult,
  SegmentTask,
} from './protocol.js';

/**
 * One segment job, run by an encoder worker (or inline for tiny layers): assembles one segment of a layer's tar stream from headers the main
 * thread encoded and file content it reads itself, hashes each file it starts, and
 * compresses the segment (or reuses its compressed form from an earlier build).
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

export function runSegment(task: SegmentTask): SegmentResult {
  // allocUnsafeSlow: never a slice of Node's shared pool, so it can be transferred.
  const raw = Buffer.allocUnsafeSlow(task.length);
  const files: SegmentResult['files'][number][] = [];
  const captured: SegmentResult['captured'][number][] = [];
  let pos = 0;
  for (const piece of task.pieces) {
    pos = place(piece, raw, pos, files, captured);
  }
  if (pos !== task.length)
    throw new Error(`segment ${task.id}: assembled ${pos} bytes, expected ${task.length}`);

  if (task.compression === 'none') {
    return {
      type: 'result',
      id: task.id,
      raw,
      compressed: raw,
      key: null,
      memberSha256: null,
      reused: false,
      files,
      captured,
    };
  }
  const key = `${createHash('sha256').update(raw).digest('hex')}:${task.codecId}`;
  const cached = task.cache?.get(key);
  const reused = cached ? readCached(cached) : null;
  const compressed = reused ?? transferable(compressSegment(raw, task.compression, task.level));
  const memberSha256 =
    cached && reused ? cached.sha256 : createHash('sha256').update(compressed).digest('hex');
  return {
    type: 'result',
    id: task.id,
    raw,
    compressed,
    key,
    memberSha256,
    reused: reused !== null,
    files,
    captured,
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
    case 'bytes':
      out.set(piece.data, pos);
      return pos + piece.data.length;
    case 'zeros':
      out.fill(0, pos, pos + piece.length);
      return pos + piece.length;
    case 'file': {
      const { file } = piece;
      const fd = openChecked(file);
      try {
        readExactly(fd, file, out, pos, piece.length, piece.offset);
        if (piece.first) {
          const sha256 = createHash('sha256');
          const sha1 = createHash('sha1');
          const inSegment = out.subarray(pos, pos + piece.length);
          sha256.update(inSegment);
          sha1.update(inSegment);
          const chunks: Buffer[] = piece.capture ? [Buffer.from(inSegment)] : [];
          // A file larger than its segment: hash the rest too (other workers copy it).
          const scratch = piece.length < file.size ? Buffer.allocUnsafe(SCRATCH) : null;
          for (let off = piece.length; scratch && off < file.size;) {
            const n = Math.min(SCRATCH, file.size - off);
            readExactly(fd, file, scratch, 0, n, off);
            sha256.update(scratch.subarray(0, n));
            sha1.update(scratch.subarray(0, n));
            if (piece.capture) chunks.push(Buffer.from(scratch.subarray(0, n)));
            off += n;
          }
          files.push({
            entry: piece.entry,
            sha256: sha256.digest('hex'),
            sha1: sha1.digest('hex'),
          });
          if (piece.capture) captured.push({ entry: piece.entry, bytes: Buffer.concat(chunks) });
        }
        // Checked again after reading: a write while we read changes mtime or ctime.
        checkUnchanged(fstatSync(fd), file);
      } finally {
        closeSync(fd);
      }
      return pos + piece.length;
    }
  }
}

function openChecked(file: SourceFile): number {
  let fd: number;
  try {
    fd = openSync(file.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new ChangedError(
      file.abs,
      `could not be opened (${errnoOf(err) ?? String(err)}); it changed during the build`,
    );
  }
  try {
    checkUnchanged(fstatSync(fd), file);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

function checkUnchanged(st: Stats, file: SourceFile): void {
  if (
    !st.isFile() ||
    st.size !== file.size ||
    st.ino !== file.ino ||
    st.dev !== file.dev ||
    st.mtimeMs !== file.mtimeMs ||
    st.ctimeMs !== file.ctimeMs
  ) {
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

/** A member from an earlier build's blob, used only if it still hashes to what was recorded. */
function readCached(member: CachedMember): Uint8Array | null {
  let fd: number;
  try {
    fd = openSync(member.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const buf = Buffer.allocUnsafeSlow(member.length);
    let done = 0;
    while (done < member.length) {
      const n = readSync(fd, buf, done, member.length - done, member.offset + done);
      if (n === 0) return null;
      done += n;
    }
    return createHash('sha256').update(buf).digest('hex') === member.sha256 ? buf : null;
  } finally {
    closeSync(fd);
  }
}

function transferable(buf: Uint8Array): Uint8Array {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf;
  const copy = Buffer.allocUnsafeSlow(buf.byteLength);
  copy.set(buf);
  return copy;
}

export function failureOf(id: number, err: unknown): SegmentFailure {
  return err instanceof ChangedError
    ? { type: 'error', id, code: 'E_SOURCE_CHANGED', path: err.path, message: err.message }
    : {
        type: 'error',
        id,
        code: 'E_ENCODE',
        path: '',
        message: err instanceof Error ? (err.stack ?? err.message) : String(err),
      };
}
