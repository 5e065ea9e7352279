import type { Duplex } from 'node:stream';
import {
  FRAME,
  FrameError,
  FrameReader,
  encodeFrame,
  encodeFrames,
  exitStatus,
} from '../core/session/frames.js';
import type { Io } from './io.js';

/**
 * A break-glass session through the API (core/session/frames.ts over `socket`): this
 * terminal's keys go to the instance raw (Ctrl-C included: it belongs to the session), its
 * output comes back, and the session's exit status is the result; 255 if the connection was
 * cut before the session said how it ended.
 */
export function runRemoteSession(socket: Duplex, io: Io): Promise<number> {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  return new Promise<number>((resolve) => {
    const reader = new FrameReader();
    let status: number | null = null;
    // Backpressure both ways: piped input or a slow terminal never piles up in memory.
    const onInput = (chunk: Buffer) => {
      let ok = true;
      for (const frame of encodeFrames(FRAME.input, chunk)) ok = socket.write(frame) && ok;
      if (!ok) {
        stdin.pause();
        socket.once('drain', () => stdin.resume());
      }
    };
    const write = (out: NodeJS.WriteStream, bytes: Buffer) => {
      if (!out.write(bytes)) {
        socket.pause();
        out.once('drain', () => socket.resume());
      }
    };
    const onInputEnd = () => {
      if (!socket.destroyed) socket.write(encodeFrame(FRAME.inputEnd));
    };
    const ignore = () => undefined;
    const done = () => {
      stdin.off('data', onInput);
      stdin.off('end', onInputEnd);
      process.off('SIGINT', ignore);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      if (status === null) io.err('\nthe session was cut before it ended\n');
      resolve(status ?? 255);
    };
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (err) {
        if (err instanceof FrameError) {
          io.err(`\nthe server sent something else than a session (${err.message})\n`);
          return socket.destroy();
        }
        throw err;
      }
      for (const f of frames) {
        if (f.type === FRAME.stdout) write(process.stdout, f.payload);
        else if (f.type === FRAME.stderr) write(process.stderr, f.payload);
        else if (f.type === FRAME.exit) {
          try {
            status = exitStatus(f);
          } catch (err) {
            io.err(`\nthe server sent a malformed end of session (${(err as Error).message})\n`);
            return socket.destroy();
          }
        }
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', done);
    process.on('SIGINT', ignore);
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onInput);
    stdin.on('end', onInputEnd);
    stdin.resume();
  });
}
