import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { readUpTo } from '../adapters/shared/read-fd.js';
import {
  currentContext,
  EMPTY_CONTEXT_FILE,
  MAX_CONTEXT_FILE_BYTES,
  parseContextFile,
  serializeContextFile,
  type Context,
  type ContextFile,
} from '../core/contexts/index.js';
import { IngotError } from '../domain/errors.js';
import { contextFilePath } from './context-path.js';

export { contextFilePath };

/** The current context, as `resolveTarget` takes it: with its name and the file it is in. */
export interface CurrentContext extends Context {
  readonly name: string;
  readonly file: string;
}

const fault = (path: string, what: string, err?: unknown) =>
  new IngotError(
    'E_CONTEXT_FILE',
    `${path}: ${what}${err === undefined ? '' : ` (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`}`,
    err === undefined ? {} : { cause: err },
  );

/**
 * The contexts in the file; none if it does not exist. Opened non-blocking (a FIFO in its
 * place does not hang the CLI), checked on the open descriptor, and never read past its bound.
 */
export function readContextFile(path: string): ContextFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_CONTEXT_FILE;
    throw fault(path, 'cannot be read', err);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw fault(path, 'not a regular file: move it away');
    // One byte over the bound is enough to refuse it as too large.
    return parseContextFile(readUpTo(fd, Math.min(info.size, MAX_CONTEXT_FILE_BYTES + 1)), path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replace the file atomically: a temp file of the owner's alone (0600) in the same folder,
 * written and synced, then renamed over it. A reader sees the old file or the new one, never
 * half of one. Two writers at once: the last rename wins, whole.
 */
export function writeContextFile(path: string, f: ContextFile): void {
  const dir = dirname(path);
  const tmp = join(dir, `.config.yaml.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, serializeContextFile(f));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fault(path, 'cannot be written', err);
  }
}

/** The current context of the file the environment names, or null: read when asked. */
export function loadCurrentContext(
  env: Readonly<Record<string, string | undefined>>,
): CurrentContext | null {
  const file = contextFilePath(env);
  if (file === null) return null;
  const current = currentContext(readContextFile(file));
  return current && { ...current, file };
}
