import { createHash, type KeyObject } from 'node:crypto';
import type { KeyId } from '../../domain/attestation.js';

/**
 * A key's id: SHA-256 of its SubjectPublicKeyInfo DER, hex. It names the key, not a file or
 * a person, so the same key has the same id wherever it is stored; the bundle carries it
 * as `verificationMaterial.publicKey.hint` and policies list keys by it.
 */
export function keyIdOf(publicKey: KeyObject): KeyId {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** Only ECDSA P-256 signs artifacts: the one key type every standard verifier accepts. */
export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}
