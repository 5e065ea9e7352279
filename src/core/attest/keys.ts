import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyId } from '../../domain/attestation.js';

/**
 * A key's id: SHA-256 of its SubjectPublicKeyInfo DER, hex. It names the key, not a file or
 * a person, so the same key has the same id wherever it is stored; the bundle carries it
 * as `verificationMaterial.publicKey.hint` and policies list keys by it.
 */
export function keyIdOf(publicKey: KeyObject): KeyId {
  // One key, one id: the same EC key can be written with a compressed or an uncompressed
  // point, and a co-signer handing in a re-encoded copy of another's key must not count
  // twice toward a threshold. The id is taken from the key rebuilt from its coordinates.
  const canonical = createPublicKey({ key: publicKey.export({ format: 'jwk' }), format: 'jwk' });
  const der = canonical.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** Only ECDSA P-256 signs artifacts: the one key type every standard verifier accepts. */
export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}
