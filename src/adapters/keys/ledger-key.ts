import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { encodeVkey } from '../../core/ledger/index.js';
import { IngotError } from '../../domain/errors.js';
import { writeFileAtomic } from '../shared/atomic-file.js';

export interface LedgerKey {
  readonly privateKey: KeyObject;
  /** The log's name in its checkpoints: "ingot.local/<host>/<digest of the home>". */
  readonly origin: string;
  /** The verifier key auditors use: `$INGOT_HOME/keys/ledger.vkey`. */
  readonly vkey: string;
  /** Made by this call (worth a ledger entry of its own). */
  readonly created: boolean;
}

/** The origin: stable for a home, unique enough across machines, a valid note key name. */
function originOf(home: string): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '-')
      .slice(0, 64) || 'host';
  const scope = createHash('sha256').update(home).digest('hex').slice(0, 8);
  return `ingot.local/${host}/${scope}`;
}

/**
 * The server's Ed25519 key for signing ledger checkpoints (C2SP signed notes), made on the
 * first `ingot up`: `ledger.key` (PKCS#8, 0600) and `ledger.vkey` (the verifier key, for
 * auditors). Written to a temporary name and renamed, so a crash never leaves half a key.
 * The origin is kept with the key: checkpoints signed before a host rename still verify.
 */
export function ledgerKey(home: string): LedgerKey {
  const dir = join(home, 'keys');
  const keyPath = join(dir, 'ledger.key');
  const originPath = join(dir, 'ledger.origin');
  let created = false;
  if (!existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(originPath, `${originOf(home)}\n`, { mode: 0o644 });
    writeFileAtomic(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    created = true;
  }
  const st = lstatSync(keyPath);
  if (!st.isFile() || (st.mode & 0o077) !== 0)
    throw new IngotError(
      'E_KEY_PERMISSIONS',
      `${keyPath} must be a regular file only its owner can read (chmod 600)`,
    );
  const privateKey = createPrivateKey(readFileSync(keyPath));
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new IngotError('E_KEY_TYPE', `${keyPath} is not an Ed25519 key`);
  const origin = existsSync(originPath) ? readFileSync(originPath, 'utf8').trim() : originOf(home);
  const vkey = encodeVkey(origin, privateKey);
  writeFileSync(join(dir, 'ledger.vkey'), `${vkey}\n`, { mode: 0o644 });
  return { privateKey, origin, vkey, created };
}
