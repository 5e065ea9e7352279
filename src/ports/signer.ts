import type { KeyId } from '../domain/attestation.js';

/**
 * Whoever signs attestations: a key file today, a KMS or HSM tomorrow. It sees only the
 * bytes to sign (the DSSE PAE), never the artifact.
 */
export interface Signer {
  readonly keyId: KeyId;
  /** ECDSA P-256 / SHA-256, DER-encoded, as Sigstore bundles carry it. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}
