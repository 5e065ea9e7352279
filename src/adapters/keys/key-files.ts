import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isP256, keyIdOf } from '../../core/attest/keys.js';
import { KeyError, type GeneratedKey, type KeyId } from '../../domain/attestation.js';
import type { Signer } from '../../ports/signer.js';
import { writeFileExclusive } from '../shared/atomic-file.js';
import { errnoOf } from '../shared/errno.js';
import { readUpTo } from '../shared/read-fd.js';

/** A PEM key is well under a kilobyte; a bound keeps a hostile path from being slurped. */
const MAX_KEY_BYTES = 64 * 1024;

/**
 * A new ECDSA P-256 pair as `<name>.key` (PKCS#8 PEM, 0600) and `<name>.pub` (SPKI PEM).
 * Neither file may exist yet: overwriting a signing key loses the only copy of a secret.
 */
export function generateKeyFiles(
  outDir: string,
  name: string,
  options: { readonly publicMode?: number } = {},
): GeneratedKey {
  const privatePath = join(outDir, `${name}.key`);
  const publicPath = join(outDir, `${name}.pub`);
  for (const path of [privatePath, publicPath])
    if (existsSync(path))
      throw new KeyError('E_KEY_EXISTS', `${path} already exists; refusing to overwrite a key`, {
        details: { path },
      });
  // A folder made for keys is the owner's alone; one that exists keeps its mode.
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' });
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' });
  try {
    writeFileExclusive(privatePath, privatePem, { mode: 0o600 });
  } catch (err) {
    if (errnoOf(err) === 'EEXIST')
      throw new KeyError('E_KEY_EXISTS', `${privatePath} appeared while the key was made`);
    throw err;
  }
  try {
    writeFileExclusive(publicPath, publicPem, { mode: options.publicMode ?? 0o644 });
  } catch (err) {
    // Half a pair is no pair: take back the private key this call wrote.
    rmSync(privatePath, { force: true });
    if (errnoOf(err) === 'EEXIST')
      throw new KeyError('E_KEY_EXISTS', `${publicPath} appeared while the key was made`);
    throw err;
  }
  return { keyId: keyIdOf(pair.publicKey), privateKey: privatePath, publicKey: publicPath };
}

/**
 * The signing key at `path`. Refused unless only its owner can read it (as ssh refuses
 * such keys): a key others can read must be assumed copied.
 */
export function loadSigner(path: string): Signer {
  const { bytes, mode, uid } = readKeyFile(path);
  if ((mode & 0o077) !== 0)
    throw new KeyError(
      'E_KEY_PERMISSIONS',
      `${path} is readable by others (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); run chmod 600 ${path}`,
      { details: { path, mode: mode & 0o777 } },
    );
  const euid = process.geteuid?.() ?? uid;
  if (uid !== euid && uid !== 0)
    throw new KeyError(
      'E_KEY_PERMISSIONS',
      `${path} belongs to uid ${uid}, not to this user (uid ${euid}): whoever owns it can replace it`,
      { details: { path, uid } },
    );
  const text = bytes.toString('utf8');
  if (/-----BEGIN PUBLIC KEY-----/.test(text))
    throw new KeyError(
      'E_KEY_TYPE',
      `${path} is a public key; signing needs the private key (the .key file)`,
    );
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(text) || /passphrase/i.test(String(err));
    throw new KeyError(
      'E_KEY_INVALID',
      encrypted
        ? `${path} is an encrypted key; Ingot reads unencrypted PKCS#8 keys (keep them in a secret store instead)`
        : `${path} is not a PEM private key`,
      { cause: err },
    );
  }
  if (!isP256(key)) throw wrongType(path, key);
  const publicKey = createPublicKey(key);
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    sign: (data) => Promise.resolve(sign('sha256', data, key)),
  };
}

/** The public half of the private key at `path` (checked by loadSigner first), as PEM. */
export function publicPemOf(path: string): string {
  const key = createPrivateKey({ key: readKeyFile(path).bytes.toString('utf8'), format: 'pem' });
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * A trusted public key from a PEM file. The file is a trust anchor: whoever can write it
 * decides what runs. So it must not be writable by group or others, and must belong to this
 * process's user or root (a root server whose policy names `~/…` under an inherited HOME
 * would otherwise take its trust from a user's file).
 */
export function loadPublicKey(path: string): { id: KeyId; key: KeyObject } {
  const file = readKeyFile(path);
  const self = process.getuid?.();
  if ((file.mode & 0o022) !== 0)
    throw new KeyError(
      'E_KEY_PERMISSIONS',
      `${path} is writable by group or others (mode ${(file.mode & 0o777).toString(8)}): a trusted key must be writable by its owner only (chmod go-w)`,
      { details: { path } },
    );
  if (self !== undefined && file.uid !== self && file.uid !== 0)
    throw new KeyError(
      'E_KEY_PERMISSIONS',
      `${path} belongs to uid ${file.uid}: a trusted key must belong to this user (uid ${self}) or root`,
      { details: { path } },
    );
  return parsePublicKey(file.bytes.toString('utf8'), path);
}

export function parsePublicKey(text: string, where: string): { id: KeyId; key: KeyObject } {
  if (/-----BEGIN (?:EC |ENCRYPTED )?PRIVATE KEY-----/.test(text))
    throw new KeyError(
      'E_KEY_TYPE',
      `${where} is a private key; give the public key (the .pub file) — private keys stay with the signer`,
    );
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (err) {
    throw new KeyError('E_KEY_INVALID', `${where} is not a PEM public key`, { cause: err });
  }
  if (!isP256(key)) throw wrongType(where, key);
  return { id: keyIdOf(key), key };
}

function wrongType(where: string, key: KeyObject): KeyError {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return new KeyError(
    'E_KEY_TYPE',
    `${where} is a ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''} key; artifact signatures use ECDSA P-256 (ingot key generate)`,
  );
}

function readKeyFile(path: string): { bytes: Buffer; mode: number; uid: number } {
  let fd: number;
  try {
    // Non-blocking: a FIFO named as a key must be refused, not wait forever for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT')
      throw new KeyError('E_KEY_NOT_FOUND', `${path}: no such key file`, { details: { path } });
    if (code === 'EACCES' || code === 'EPERM')
      throw new KeyError('E_KEY_PERMISSIONS', `${path}: not readable by this user`, {
        details: { path },
      });
    throw new KeyError('E_KEY_INVALID', `${path}: cannot be read (${code ?? String(err)})`, {
      cause: err,
    });
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > MAX_KEY_BYTES)
      throw new KeyError(
        'E_KEY_INVALID',
        `${path} is not a key file (a regular file of at most ${MAX_KEY_BYTES} bytes)`,
      );
    return { bytes: readUpTo(fd, info.size), mode: info.mode, uid: info.uid };
  } finally {
    closeSync(fd);
  }
}
