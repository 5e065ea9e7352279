import { createConnection } from 'node:net';
import { EdgeError, quoteForMessage } from '../../core/traffic/index.js';

export interface CallOptions {
  /** From connecting to the end of the answer (default 2 s). */
  readonly timeoutMs?: number;
  /** The longest answer read (default 8 MiB: `show stat` of 50,000 servers fits). */
  readonly maxBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 2_000;
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

/**
 * One command on one connection to an HAProxy CLI socket (the admin socket, or the master's):
 * write the line, half-close (the master CLI answers only then), read to the end. A fresh
 * connection per command means no prompt to parse and no state left between commands.
 *
 * The line must be one command: HAProxy runs every ";"- or newline-separated command of a
 * line at admin level, so anything that could carry a second one is refused here, whoever
 * built the line. The answer is bounded in size and time: a wedged or hostile process on the
 * socket cannot hold or flood the caller.
 */
export function callSocket(path: string, line: string, options: CallOptions = {}): Promise<string> {
  // eslint-disable-next-line no-control-regex
  if (line.length === 0 || line.length > 4096 || /[;\u0000-\u001f\u007f]/.test(line))
    return Promise.reject(
      new EdgeError(
        'E_EDGE_INVALID',
        `${quoteForMessage(line, 80)} is not one Runtime API command`,
      ),
    );
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const socket = createConnection({ path });
    const finish = (err: EdgeError | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== null) reject(err);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(
      () =>
        finish(
          new EdgeError(
            'E_EDGE_TIMEOUT',
            `HAProxy did not answer "${line.split(' ', 2).join(' ')}" on ${path} within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    socket.on('connect', () => socket.end(`${line}\n`));
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes)
        finish(
          new EdgeError(
            'E_EDGE_TOO_LARGE',
            `HAProxy's answer on ${path} is over ${maxBytes} bytes`,
          ),
        );
      else chunks.push(chunk);
    });
    socket.on('end', () => finish(null));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(socketError(path, err)));
  });
}

function socketError(path: string, err: NodeJS.ErrnoException): EdgeError {
  const unreachable = ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTSOCK', 'EACCES'];
  if (err.code !== undefined && unreachable.includes(err.code))
    return new EdgeError(
      'E_EDGE_UNREACHABLE',
      `HAProxy's socket ${path} cannot be reached (${err.code}): is it running?`,
      { cause: err },
    );
  return new EdgeError('E_EDGE_UNREACHABLE', `HAProxy's socket ${path}: ${err.message}`, {
    cause: err,
  });
}
