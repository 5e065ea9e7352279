import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { findCredentials, MAX_AUTH_FILE_BYTES } from '../../core/registry/credentials.js';
import { RegistryError, type Credentials } from '../../domain/registry.js';

/**
 * Credentials for `authority` as the container tools keep them: `$REGISTRY_AUTH_FILE`
 * (podman, skopeo), else `~/.docker/config.json`. A file that does not exist has none; one
 * that exists but cannot be read or parsed is an error, not silently anonymous.
 */
export function readAuthFile(
  authority: string,
  env: Readonly<Record<string, string | undefined>>,
): Credentials | null {
  const candidates = [
    env['REGISTRY_AUTH_FILE'],
    join(env['HOME'] ?? homedir(), '.docker', 'config.json'),
  ].filter((p): p is string => p !== undefined && p !== '');
  for (const path of candidates) {
    const text = readSmall(path);
    if (text === null) continue;
    const found = findCredentials(text, authority, path);
    if (found) return found;
  }
  return null;
}

function readSmall(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RegistryError(
      'E_REGISTRY_CREDENTIALS',
      `cannot read ${path}: ${(err as Error).message}`,
      { file: path },
      err,
    );
  }
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_AUTH_FILE_BYTES)
      throw new RegistryError(
        'E_REGISTRY_CREDENTIALS',
        `${path} is larger than ${MAX_AUTH_FILE_BYTES} bytes`,
        { file: path },
      );
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
