import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createTempFile } from '../shared/atomic-file.js';
import { EdgeError } from '../../core/traffic/index.js';

/** haproxy's own check of a configuration (`-c`): parse everything, bind nothing. */
export function checkConfig(binary: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      ['-c', '-f', path],
      { timeout: 10_000, maxBuffer: 256 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err === null) return resolve();
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(missing(binary, err));
        reject(
          new EdgeError(
            'E_EDGE_CONFIG',
            `haproxy -c refused the rendered configuration:\n${tail(`${stdout}${stderr}`)}`,
            {
              cause: err,
            },
          ),
        );
      },
    );
  });
}

/**
 * Put `text` at `path` only once HAProxy accepted it: written under a temporary name in the
 * same folder, checked with `haproxy -c`, then renamed over the old file (durably). A
 * reader, a restart or a crash sees the old file or the new one, never half of one, and
 * never one HAProxy would refuse to start with.
 */
export async function writeCheckedConfig(
  binary: string,
  path: string,
  text: string,
): Promise<void> {
  const temp = createTempFile(dirname(path), 0o600);
  try {
    temp.write(new TextEncoder().encode(text));
    await checkConfig(binary, temp.path);
    temp.commit(path);
  } catch (err) {
    temp.discard();
    throw err;
  }
}

/** The text of the configuration file there now, or null. */
export function readConfig(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function removeQuietly(...paths: string[]): void {
  for (const p of paths) rmSync(p, { force: true });
}

export function missing(binary: string, cause?: unknown): EdgeError {
  return new EdgeError(
    'E_EDGE_MISSING',
    `${binary} is not installed (or not in PATH): run ./scripts/setup, which installs Debian's haproxy`,
    { cause },
  );
}

/** The last lines of HAProxy's output, for an error message. */
export function tail(text: string, lines = 12): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
