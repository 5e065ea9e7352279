import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

/**
 * A break-glass session between a server and a host crosses the cluster's network, where the
 * signed upgrade request protects only the request: whoever is on the path could read what is
 * typed (secrets included) and type their own commands under someone else's record. So the
 * stream after the upgrade is sealed, record by record, with AES-256-GCM under keys only the
 * two ends can derive: from the host's credential (never on the wire) and the call's signature
 * (fresh per call). Each direction has its own key and counts its records: a record dropped,
 * replayed, reordered or from the other direction fails to open, and the session ends.
 */
export interface SessionKeys {
  readonly toHost: Buffer;
  readonly toServer: Buffer;
}

const INFO = 'ingot-session-v1';

export function sessionKeys(credential: string, signature: string): SessionKeys {
  const key = (direction: string) =>
    Buffer.from(hkdfSync('sha256', credential, signature, `${INFO} ${direction}`, 32));
  return { toHost: key('server-to-host'), toServer: key('host-to-server') };
}

/** A record on the wire: 4-byte length, then the ciphertext and its 16-byte tag. */
export const RECORD_HEADER_BYTES = 4;
const TAG_BYTES = 16;
/** Plaintext in one record at most (a few frames); larger writes take several records. */
export const MAX_RECORD_PLAINTEXT = 128 * 1024;
export const MAX_RECORD_BYTES = MAX_RECORD_PLAINTEXT + TAG_BYTES;

/** The IV of record `n` of a direction: never reused under one key. */
function iv(n: bigint): Buffer {
  const out = Buffer.alloc(12);
  out.writeBigUInt64BE(n, 4);
  return out;
}

export function sealRecord(key: Buffer, n: bigint, plaintext: Uint8Array): Buffer {
  if (plaintext.length > MAX_RECORD_PLAINTEXT)
    throw new RangeError(`a record holds at most ${MAX_RECORD_PLAINTEXT} bytes`);
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  header.writeUInt32BE(plaintext.length + TAG_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv(n));
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return Buffer.concat([header, body]);
}

/** The plaintext of record `n` (its body: what follows the length), or null if it is not. */
export function openRecord(key: Buffer, n: bigint, body: Buffer): Buffer | null {
  if (body.length < TAG_BYTES || body.length > MAX_RECORD_BYTES) return null;
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  header.writeUInt32BE(body.length);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv(n));
    decipher.setAAD(header);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    return null;
  }
}
