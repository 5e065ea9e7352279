import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { IngotError } from '../../domain/errors.js';
import { errnoOf } from '../shared/errno.js';
import { writeFileExclusive } from '../shared/atomic-file.js';

const BYTES = 32;

/**
 * The secret that authenticates a home's build cache, made on first use (0600, never
 * overwritten). It lives with the home's keys, not in the cache folder, so a cache folder
 * restored from elsewhere cannot bring a secret that vouches for it.
 */
export function cacheSecret(path: string): Buffer {
  try {
    return checked(readFileSync(path), path);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    writeFileExclusive(path, randomBytes(BYTES), { mode: 0o600 });
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err; // another build made it a moment ago
  }
  return checked(readFileSync(path), path);
}

function checked(bytes: Buffer, path: string): Buffer {
  if (bytes.length !== BYTES)
    throw new IngotError('E_CACHE_SECRET', `${path} is not a build-cache secret (${BYTES} bytes)`);
  return bytes;
}
