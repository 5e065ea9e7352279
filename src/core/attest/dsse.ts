import { verify, type KeyObject } from 'node:crypto';

/**
 * DSSE v1 (github.com/secure-systems-lab/dsse, protocol.md). The signature covers the
 * Pre-Authentication Encoding of type and body, so a signature over one payloadType can
 * never be replayed as another: the type confusion attack DSSE exists to stop.
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

/** ECDSA signatures are DER in Sigstore bundles; the DSSE spec's example uses r‖s. */
export type EcdsaEncoding = 'der' | 'ieee-p1363';

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

const BASE64 = /^(?:[A-Za-z0-9+/]*|[A-Za-z0-9_-]*)={0,2}$/;

/**
 * Standard or URL-safe base64, as DSSE requires verifiers to accept. Node's decoder skips
 * characters it does not know, so the alphabet is checked first: an envelope whose payload
 * is not base64 is malformed, not "whatever bytes survive".
 */
export function decodeBase64(text: string): Buffer | null {
  if (!BASE64.test(text)) return null;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return null;
  if (text.length !== unpadded.length && text.length % 4 !== 0) return null;
  return Buffer.from(unpadded, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
}

/** Verify one signature over data with a public key (ECDSA P-256/SHA-256 or Ed25519). */
export function verifySignature(
  key: KeyObject,
  data: Uint8Array,
  sig: Uint8Array,
  ecdsaEncoding: EcdsaEncoding = 'der',
): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519') return verify(null, data, key, sig);
    if (key.asymmetricKeyType === 'ec')
      return verify('sha256', data, { key, dsaEncoding: ecdsaEncoding }, sig);
    return false;
  } catch {
    // A signature that is not even well-formed DER is simply not a valid signature.
    return false;
  }
}

export interface EnvelopeVerdict {
  readonly accepted: boolean;
  /** Ids of the distinct trusted keys with a valid signature. */
  readonly acceptedKeys: readonly string[];
  readonly reason?: 'payload-type' | 'threshold';
}

/**
 * The (t, n) verification of protocol.md: every signature is tried against the trusted keys
 * (the keyid hint only narrows the search), each key counts once however often it signed,
 * and the payloadType must be one the caller supports.
 */
export function verifyEnvelope(
  envelope: DsseEnvelope,
  keys: readonly TrustedKey[],
  options: {
    readonly threshold: number;
    readonly payloadTypes: readonly string[];
    readonly ecdsaEncoding?: EcdsaEncoding;
  },
): EnvelopeVerdict {
  const message = pae(envelope.payloadType, envelope.payload);
  const accepted = new Set<string>();
  for (const signature of envelope.signatures) {
    // The hint only orders the search: a valid signature by any trusted key counts, whatever
    // key the (unauthenticated) keyid names.
    const candidates = [
      ...keys.filter((k) => k.id === signature.keyid),
      ...keys.filter((k) => k.id !== signature.keyid),
    ];
    for (const candidate of candidates) {
      if (accepted.has(candidate.id)) continue;
      if (verifySignature(candidate.key, message, signature.sig, options.ecdsaEncoding)) {
        accepted.add(candidate.id);
        break;
      }
    }
  }
  const acceptedKeys = [...accepted];
  if (acceptedKeys.length < Math.max(1, options.threshold))
    return { accepted: false, acceptedKeys, reason: 'threshold' };
  if (!options.payloadTypes.includes(envelope.payloadType))
    return { accepted: false, acceptedKeys, reason: 'payload-type' };
  return { accepted: true, acceptedKeys };
}
