import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyError } from '../../domain/attestation.js';
import { digestOf, type Digest } from '../../domain/digest.js';
import { writeFileExclusive } from '../shared/atomic-file.js';
import { errnoOf } from '../shared/errno.js';
import { generateKeyFiles, loadPublicKey, loadSigner, publicPemOf } from './key-files.js';

/**
 * Where trust comes from when nothing is configured: a key pair of this machine, made on
 * the first `ingot up` ($INGOT_HOME/keys/local.*). `ingot build` signs with it by default.
 * `created`: made by this call, with its public key's digest for the record.
 *
 * A pair is made only where neither half exists. A public key without its private key is
 * a lost key, refused without writing: a new pair made beside it would silently stop the
 * admission of everything the old one signed. A public key missing beside its private key
 * is derived again from it (it is a function of the secret, nothing is lost).
 */
export function localKeys(home: string): {
  key: string;
  pub: string;
  created: { readonly digest: Digest } | null;
} {
  const { key, pub } = localKeyPaths(home);
  if (!existsSync(key) && !existsSync(pub)) {
    // Inside the home, 0700/0600 like everything else in it.
    mkdirSync(join(home, 'keys'), { recursive: true, mode: 0o700 });
    generateKeyFiles(join(home, 'keys'), 'local', { publicMode: 0o600 });
    return { key, pub, created: { digest: digestOf(readFileSync(pub)) } };
  }
  checkLocalPair(home);
  return { key, pub, created: null };
}

export function localKeyPaths(home: string): { key: string; pub: string } {
  const dir = join(home, 'keys');
  return { key: join(dir, 'local.key'), pub: join(dir, 'local.pub') };
}

/**
 * The local signing key for `ingot build`, or null where this home has no pair yet. Throws
 * E_KEY_LOST or E_KEY_MISMATCH where the pair is broken, rather than building unsigned.
 */
export function localSigningKey(home: string): string | null {
  const { key, pub } = localKeyPaths(home);
  if (!existsSync(key) && !existsSync(pub)) return null;
  checkLocalPair(home);
  return key;
}

function checkLocalPair(home: string): void {
  const { key, pub } = localKeyPaths(home);
  if (!existsSync(key))
    throw new KeyError(
      'E_KEY_LOST',
      `${key} is missing, but its public key ${pub} remains (and admits what it signed). Nothing was written. Restore local.key from your backup. To make a new pair on purpose, move ${pub} aside; artifacts signed by the old key are then admitted only with --key <old local.pub>`,
      { details: { key, pub } },
    );
  const signer = loadSigner(key);
  if (!existsSync(pub)) {
    try {
      writeFileExclusive(pub, publicPemOf(key), {
        mode: 0o600,
      });
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
    }
  }
  const trusted = loadPublicKey(pub);
  if (trusted.id !== signer.keyId)
    throw new KeyError(
      'E_KEY_MISMATCH',
      `${key} and ${pub} are not one pair (key IDs ${signer.keyId} and ${trusted.id}): one was replaced. Nothing was changed. Restore the original pair from your backup`,
      { details: { key, pub } },
    );
}
