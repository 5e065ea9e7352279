/**
 * A break-glass session carried over one upgraded HTTP connection (client → server → the
 * instance's host): typed, length-prefixed frames, so that input, output, errors and the exit
 * status share the byte stream without any of them being mistaken for another. A frame is
 * one type byte, a 4-byte big-endian length and at most MAX_FRAME_BYTES of payload. Both
 * ends read the other as hostile: an unknown type or an oversized length ends the session.
 */
export const FRAME = {
  /** Client → host: bytes for the session's stdin. */
  input: 0,
  /** Client → host: stdin ended (the session's command sees end of file). */
  inputEnd: 1,
  /** Host → client: the command's stdout (with a terminal, everything it shows). */
  stdout: 2,
  /** Host → client: the command's stderr (without a terminal). */
  stderr: 3,
  /** Host → client: the command ended; its exit status as a 4-byte signed integer. */
  exit: 4,
} as const;

export type FrameType = (typeof FRAME)[keyof typeof FRAME];

export interface Frame {
  readonly type: FrameType;
  readonly payload: Buffer;
}

export const MAX_FRAME_BYTES = 64 * 1024;
const HEADER_BYTES = 5;
const TYPES: ReadonlySet<number> = new Set(Object.values(FRAME));

/** One frame's bytes; a payload over MAX_FRAME_BYTES is a caller's bug. */
export function encodeFrame(type: FrameType, payload: Uint8Array = new Uint8Array()): Buffer {
  if (payload.length > MAX_FRAME_BYTES)
    throw new RangeError(`a frame holds at most ${MAX_FRAME_BYTES} bytes, not ${payload.length}`);
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out[0] = type;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Bytes of any length as frames of at most MAX_FRAME_BYTES each. */
export function encodeFrames(type: FrameType, bytes: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += MAX_FRAME_BYTES)
    out.push(encodeFrame(type, bytes.subarray(at, at + MAX_FRAME_BYTES)));
  return out;
}

export function exitFrame(status: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeInt32BE(status | 0);
  return encodeFrame(FRAME.exit, payload);
}

/** An exit frame's status; a payload of another size is malformed. */
export function exitStatus(frame: Frame): number {
  if (frame.payload.length !== 4) throw new FrameError('an exit frame holds 4 bytes');
  return frame.payload.readInt32BE(0);
}

export class FrameError extends Error {}

/**
 * Frames from a byte stream cut anywhere: `push` each chunk as it arrives and take the
 * frames it completes. Holds at most one frame's worth of bytes.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Throws FrameError on an unknown type or an oversized frame: end the session then. */
  push(chunk: Uint8Array): Frame[] {
    this.pending =
      this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const type = this.pending[0]!;
      if (!TYPES.has(type)) throw new FrameError(`unknown frame type ${type}`);
      const length = this.pending.readUInt32BE(1);
      if (length > MAX_FRAME_BYTES)
        throw new FrameError(`a frame of ${length} bytes (at most ${MAX_FRAME_BYTES})`);
      if (this.pending.length < HEADER_BYTES + length) break;
      frames.push({
        type: type as FrameType,
        payload: Buffer.from(this.pending.subarray(HEADER_BYTES, HEADER_BYTES + length)),
      });
      this.pending = this.pending.subarray(HEADER_BYTES + length);
    }
    return frames;
  }

  /** Bytes of a frame not complete yet (a stream that ends here was cut). */
  get buffered(): number {
    return this.pending.length;
  }
}
