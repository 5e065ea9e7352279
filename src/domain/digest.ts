import { createHash } from 'node:crypto';
import { IngotError, type CodesOf } from './errors.js';

declare const digestBrand: unique symbol;

/** A content address, `sha256:` followed by 64 lowercase hex digits. */
export type Digest = string & { readonly [digestBrand]: true };

export type DigestErrorCode = CodesOf<'digest'>;

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && SHA256_DIGEST.test(value);
}

/**
 * Digests arrive from files and other people's manifests: parse, never cast. Only sha256
 * is accepted; another well-formed algorithm gets its own code so that the message can say
 * so instead of "malformed".
 */
export function parseDigest(value: string, where = 'digest'): Digest {
  if (isDigest(value)) return value;
  if (ANY_DIGEST.test(value) && !value.startsWith('sha256:')) {
    throw new IngotError<DigestErrorCode>(
      'E_DIGEST_ALGORITHM',
      `${where}: unsupported digest algorithm in ${JSON.stringify(value)} (only sha256 is accepted)`,
    );
  }
  throw new IngotError<DigestErrorCode>(
    'E_DIGEST_INVALID',
    `${where}: ${JSON.stringify(value.slice(0, 100))} is not a digest (expected sha256:<64 lowercase hex digits>)`,
  );
}

export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/** The 12 hex digits people read and type; never use it as an identity. */
export function shortDigest(digest: Digest): string {
  return digest.slice('sha256:'.length, 'sha256:'.length + 12);
}

/** The digest of some bytes (a string is hashed as UTF-8). */
export function digestOf(content: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(content).digest('hex')}` as Digest;
}
