import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { encodeVkey, parseVkey } from '../../core/ledger/index.js';
import { IngotError } from '../../domain/errors.js';
import { writeFileExclusive } from '../shared/atomic-file.js';
import { errnoOf } from '../shared/errno.js';

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

interface Paths {
  readonly dir: string;
  readonly key: string;
  readonly origin: string;
  readonly vkey: string;
  readonly last: string;
}

/**
 * The server's Ed25519 key for signing ledger checkpoints (C2SP signed notes), made on the
 * first `ingot up`: `ledger.key` (PKCS#8, 0600), `ledger.origin` and `ledger.vkey` (the
 * verifier key, for auditors). None of them is ever replaced: each is written exclusively,
 * so a crash leaves at most a missing file that the next start derives again from the key.
 *
 * A missing key is made only for a log that has never been signed. If anything says it
 * was (`ledger.vkey`, `ledger.last`, `ledger.origin`, or `signedBefore`: checkpoints in
 * the database), the key was lost: a new one would sign checkpoints no auditor can tie to
 * the old ones, and `ledger verify` would cry tamper over a ledger nobody touched. That is
 * refused before anything is written.
 */
export function ledgerKey(home: string, options: { signedBefore?: boolean } = {}): LedgerKey {
  const dir = join(home, 'keys');
  const paths: Paths = {
    dir,
    key: join(dir, 'ledger.key'),
    origin: join(dir, 'ledger.origin'),
    vkey: join(dir, 'ledger.vkey'),
    last: join(dir, 'ledger.last'),
  };
  let created = false;
  if (!existsSync(paths.key)) {
    refuseIfLost(paths, options.signedBefore === true);
    created = makeKey(paths);
  }
  const privateKey = readKey(paths.key);
  const kept = readText(paths.vkey);
  const origin = readText(paths.origin) ?? (kept ? nameOf(kept, paths.vkey) : originOf(home));
  const vkey = encodeVkey(origin, privateKey);
  if (kept !== undefined && kept !== vkey)
    throw new IngotError(
      'E_LEDGER_KEY_MISMATCH',
      `${paths.key} is not the key of ${paths.vkey} (it verifies as ${vkey}): the key or the verifier key was replaced, and checkpoints signed now would not verify with the old ones. Nothing was changed. Restore the original ledger.key (or ledger.vkey) from your backup`,
      { details: { key: paths.key, vkey: paths.vkey } },
    );
  keep(paths.origin, `${origin}\n`);
  if (kept === undefined) keep(paths.vkey, `${vkey}\n`);
  return { privateKey, origin, vkey, created };
}

function refuseIfLost(paths: Paths, signedBefore: boolean): void {
  const found = [paths.vkey, paths.last, paths.origin].filter((p) => existsSync(p));
  if (found.length === 0 && !signedBefore) return;
  const evidence = [...found, ...(signedBefore ? ['checkpoints in state.db'] : [])];
  throw new IngotError(
    'E_LEDGER_KEY_LOST',
    `${paths.key} is missing, but this home's ledger was signed with it (found: ${evidence.join(', ')}). Nothing was written. Restore ledger.key from your backup and run \`ingot up\` again. Starting a new log instead is a deliberate act: keep the old ledger.vkey for auditors of the old checkpoints, move ${found.length > 0 ? found.join(', ') : 'the old ledger files'} out of ${paths.dir}${signedBefore ? ', and state.db too (a new key cannot extend checkpoints signed by the old one)' : ''}`,
    { details: { key: paths.key, found: evidence } },
  );
}

/** A new key at `paths.key`, never over another one; false if one appeared meanwhile. */
function makeKey(paths: Paths): boolean {
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  try {
    writeFileExclusive(paths.key, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    return true;
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return false;
    throw err;
  }
}

function readKey(path: string): KeyObject {
  const st = lstatSync(path);
  if (!st.isFile() || (st.mode & 0o077) !== 0)
    throw new IngotError(
      'E_KEY_PERMISSIONS',
      `${path} must be a regular file only its owner can read (chmod 600)`,
    );
  const privateKey = createPrivateKey(readFileSync(path));
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new IngotError('E_KEY_TYPE', `${path} is not an Ed25519 key`);
  return privateKey;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** The log's name as the kept verifier key gives it: the origin its checkpoints carry. */
function nameOf(vkey: string, path: string): string {
  try {
    return parseVkey(vkey).name;
  } catch (err) {
    throw new IngotError('E_LEDGER_VKEY', `${path} is not a verifier key`, { cause: err });
  }
}

/** A derived file written once; one already there (even a moment ago) is left alone. */
function keep(path: string, text: string): void {
  if (existsSync(path)) return;
  try {
    writeFileExclusive(path, text, { mode: 0o600 });
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err;
  }
}
