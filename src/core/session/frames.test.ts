import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FRAME,
  FrameError,
  FrameReader,
  MAX_FRAME_BYTES,
  encodeFrame,
  encodeFrames,
  exitFrame,
  exitStatus,
  type FrameType,
} from './frames.js';

const frameType = fc.constantFrom<FrameType>(...Object.values(FRAME));
const frames = fc.array(
  fc.record({ type: frameType, payload: fc.uint8Array({ maxLength: 300 }) }),
  {
    maxLength: 20,
  },
);

/** A byte string cut at the given points. */
function cut(bytes: Buffer, points: readonly number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...at, bytes.length]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}

describe('session frames', () => {
  it('read back exactly what was written, however the stream is cut', () => {
    fc.assert(
      fc.property(frames, fc.array(fc.nat(), { maxLength: 30 }), (written, points) => {
        const bytes = Buffer.concat(written.map((f) => encodeFrame(f.type, f.payload)));
        const reader = new FrameReader();
        const read = cut(bytes, points).flatMap((chunk) => reader.push(chunk));
        expect(read.map((f) => ({ type: f.type, payload: new Uint8Array(f.payload) }))).toEqual(
          written.map((f) => ({ type: f.type, payload: new Uint8Array(f.payload) })),
        );
        expect(reader.buffered).toBe(0);
      }),
    );
  });

  it('split long output into frames no reader refuses, and carry exit statuses', () => {
    const long = Buffer.alloc(MAX_FRAME_BYTES * 2 + 7, 1);
    const parts = encodeFrames(FRAME.stdout, long);
    expect(parts).toHaveLength(3);
    const read = new FrameReader().push(Buffer.concat(parts));
    expect(Buffer.concat(read.map((f) => f.payload)).equals(long)).toBe(true);
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (status) => {
        const [frame] = new FrameReader().push(exitFrame(status));
        expect(exitStatus(frame!)).toBe(status);
      }),
    );
  });

  it('refuse an unknown type, an oversized length and a malformed exit', () => {
    expect(() => new FrameReader().push(Buffer.from([9, 0, 0, 0, 0]))).toThrow(FrameError);
    const huge = Buffer.from([FRAME.input, 0, 0, 0, 0]);
    huge.writeUInt32BE(MAX_FRAME_BYTES + 1, 1);
    // Refused from the header alone: nothing waits for 64 KiB that will never be allowed.
    expect(() => new FrameReader().push(huge)).toThrow(/a frame of 65537 bytes/);
    expect(() => encodeFrame(FRAME.input, new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(RangeError);
    const [short] = new FrameReader().push(encodeFrame(FRAME.exit, Buffer.from([1])));
    expect(() => exitStatus(short!)).toThrow(FrameError);
  });
});
