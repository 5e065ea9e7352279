import type { KeyObject } from 'node:crypto';

/**
 * DSSE v1 (github.com/secure-systems-lab/dsse, protocol.md). The signature covers the
 * Pre-Authentication Encoding of type and body, so a signature over one payloadType can
 * never be replayed as another: the type confusion attack DSSE exists to stop. Ingot signs
 * with it here; verification is @sigstore/verify's (verify-bundle.ts).
 */

export interface DsseSignature {
  readonly sig: Uint8Array;
  /** Unauthenticated hint; never used for a security decision. */
  readonly keyid?: string;
}

export interface DsseEnvelope {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly signatures: readonly DsseSignature[];
}

export interface TrustedKey {
  readonly id: string;
  readonly key: KeyObject;
}

const SP = 0x20;

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in bytes. */
export function pae(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${body.length}`, 'ascii'),
    Buffer.from([SP]),
    body,
  ]);
}
