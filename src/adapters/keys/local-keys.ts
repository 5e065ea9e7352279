import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf, type Digest } from '../../domain/digest.js';
import { generateKeyFiles } from './key-files.js';

/**
 * Where trust comes from when nothing is configured: a key pair of this machine, made on
 * the first `ingot up` ($INGOT_HOME/keys/local.*). `ingot build` signs with it by default.
 * `created`: made by this call, with its public key's digest for the record.
 */
export function localKeys(home: string): {
  key: string;
  pub: string;
  created: { readonly digest: Digest } | null;
} {
  const dir = join(home, 'keys');
  const key = join(dir, 'local.key');
  const pub = join(dir, 'local.pub');
  if (existsSync(key) || existsSync(pub)) return { key, pub, created: null };
  generateKeyFiles(dir, 'local');
  return { key, pub, created: existsSync(pub) ? { digest: digestOf(readFileSync(pub)) } : null };
}
