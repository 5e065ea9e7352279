import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Duplex } from 'node:stream';
import {
  FRAME,
  FrameError,
  FrameReader,
  encodeFrames,
  exitFrame,
} from '../../core/session/frames.js';
import type { SessionRequest } from '../../core/session/request.js';

/** POSIX single quotes: the one quoting in which nothing is special but the quote itself. */
const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/**
 * The break-glass command in the instance, as `runc exec` runs it on its host. With a
 * terminal, runc must be given one: util-linux `script` makes a pseudo-terminal (Node has no
 * way to), sized as the client's before runc copies its size to the instance's.
 */
export function spawnDebugSession(
  runcRoot: string,
  id: string,
  request: SessionRequest,
): ChildProcess {
  const exec = ['runc', '--root', runcRoot, 'exec'];
  if (request.terminal === null)
    return spawn(exec[0]!, [...exec.slice(1), id, ...request.command], { stdio: 'pipe' });
  const { cols, rows } = request.terminal;
  const line = `stty rows ${rows} cols ${cols} 2>/dev/null; exec ${[...exec, '-t', id, ...request.command].map(quote).join(' ')}`;
  return spawn('script', ['--quiet', '--return', '--flush', '--command', line, '/dev/null'], {
    stdio: 'pipe',
    // script runs the line with $SHELL: never a user's shell of choice.
    env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', SHELL: '/bin/sh' },
  });
}

/**
 * Carry a session between the client's connection (frames) and the process: input frames
 * to its stdin, its output back as frames, then its exit status; `ended` once both are
 * done. A client that sends a malformed frame, or goes away, ends the session: the process
 * is killed (its instance is replaced all the same).
 */
export function bridgeSession(child: ChildProcess, client: Duplex, ended: () => void): void {
  const reader = new FrameReader();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    ended();
  };
  let exitSent = false;
  const sendExit = (status: number) => {
    if (exitSent || client.destroyed) return;
    exitSent = true;
    client.end(exitFrame(status));
    // A client that keeps its side open after the end does not keep the connection.
    setTimeout(() => client.destroy(), 5000).unref();
  };
  // The client may have gone before the session was handed to it: then it ends here.
  if (client.destroyed) return finish();
  let inputPaused = false;
  client.on('data', (chunk: Buffer) => {
    let frames;
    try {
      frames = reader.push(chunk);
    } catch (err) {
      if (err instanceof FrameError) return client.destroy();
      throw err;
    }
    for (const f of frames) {
      if (f.type === FRAME.input) {
        if (child.stdin?.writable && !child.stdin.write(f.payload) && !inputPaused) {
          inputPaused = true;
          client.pause();
          child.stdin.once('drain', () => {
            inputPaused = false;
            client.resume();
          });
        }
      } else if (f.type === FRAME.inputEnd) child.stdin?.end();
      // Output and exit frames are the host's to send: from a client they are ignored.
    }
  });
  client.on('close', finish);
  client.on('error', () => client.destroy());
  child.stdin?.on('error', () => undefined); // the process went: its exit says so
  let outputPaused = false;
  const forward = (type: typeof FRAME.stdout | typeof FRAME.stderr) => (chunk: Buffer) => {
    let ok = true;
    for (const frame of encodeFrames(type, chunk)) ok = client.write(frame) && ok;
    if (!ok && !outputPaused) {
      outputPaused = true;
      child.stdout?.pause();
      child.stderr?.pause();
      client.once('drain', () => {
        outputPaused = false;
        child.stdout?.resume();
        child.stderr?.resume();
      });
    }
  };
  child.stdout?.on('data', forward(FRAME.stdout));
  child.stderr?.on('data', forward(FRAME.stderr));
  child.on('error', () => {
    sendExit(127);
    finish();
  });
  child.on('close', (code, signal) => {
    sendExit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    finish();
  });
}
