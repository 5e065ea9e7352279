import type { BundleLatest } from '@sigstore/bundle';
import {
  PolicyError,
  toSignedEntity,
  toTrustMaterial,
  VerificationError,
  Verifier,
} from '@sigstore/verify';
import { AttestationError, InToto, type KeyId } from '../../domain/attestation.js';
import type { Digest } from '../../domain/digest.js';
import { decodeBundle } from './bundle.js';
import type { TrustedKey } from './dsse.js';
import { parseStatement, type ParsedStatement } from './provenance.js';

export type BundleVerdict =
  | { readonly status: 'verified'; readonly keyId: KeyId; readonly statement: ParsedStatement }
  /** Signed by a key we do not trust: not evidence of anything, but worth reporting. */
  | { readonly status: 'unknown-key'; readonly keyHint: string };

/**
 * Check one attached bundle against the trusted keys and the artifact it is attached to.
 * Throws AttestationError when the bundle is damaged or lies (bad signature by a trusted key,
 * another subject): those are integrity failures, never policy questions.
 */
export function verifyBundle(
  bytes: Uint8Array,
  keys: readonly TrustedKey[],
  subject: Digest,
): BundleVerdict {
  const { bundle, envelope, keyHint } = decodeBundle(bytes);
  // Checked before the signature so a type swap gets its own code; either way it is refused.
  if (envelope.payloadType !== InToto.payloadType)
    throw new AttestationError(
      'E_PAYLOAD_TYPE',
      `the envelope's payloadType is ${JSON.stringify(envelope.payloadType)}, expected ${InToto.payloadType}`,
    );
  // The hint is unauthenticated (DSSE): it narrows the search, it never decides.
  const signer = trustedSigner(bundle, keys, keyHint);
  if (signer === null) {
    if (keys.some((k) => k.id === keyHint))
      throw new AttestationError(
        'E_SIGNATURE_INVALID',
        `the signature does not verify with trusted key ${keyHint.slice(0, 12)}…: the payload or the signature was altered`,
      );
    return { status: 'unknown-key', keyHint };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(envelope.payload).toString('utf8'));
  } catch {
    throw new AttestationError('E_STATEMENT_INVALID', 'the signed payload is not JSON');
  }
  const statement = parseStatement(doc);
  if ('problem' in statement)
    throw new AttestationError(
      'E_STATEMENT_INVALID',
      `the signed payload is not an in-toto Statement v1: ${statement.problem}`,
    );
  if (!statement.subjects.includes(subject))
    throw new AttestationError(
      'E_SUBJECT_MISMATCH',
      `the statement is about ${statement.subjects.join(', ') || 'nothing'}, not ${subject}: it was copied from another artifact`,
    );
  return { status: 'verified', keyId: signer.id, statement };
}

/**
 * The trusted key whose signature the bundle carries, or null: checked by @sigstore/verify
 * (the DSSE pre-authentication encoding and the signature), not by a copy of that code here.
 * Ingot's bundles carry no transparency-log entry or timestamp (the ledger plays that part),
 * so the verifier asks for none. Every trusted key is tried, the hinted one first: a valid
 * signature counts as its key's whatever key the hint names.
 */
function trustedSigner(
  bundle: BundleLatest,
  keys: readonly TrustedKey[],
  keyHint: string,
): TrustedKey | null {
  const entity = toSignedEntity(bundle);
  const ordered = [
    ...keys.filter((k) => k.id === keyHint),
    ...keys.filter((k) => k.id !== keyHint),
  ];
  for (const key of ordered) {
    try {
      verifierOf(key).verify(entity);
      return key;
    } catch (err) {
      if (!(err instanceof VerificationError || err instanceof PolicyError)) throw err;
    }
  }
  return null;
}

const NO_AUTHORITIES = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

/** One verifier per trusted key, made once: admission checks bundles on every start. */
const verifiers = new WeakMap<TrustedKey['key'], Verifier>();

function verifierOf(key: TrustedKey): Verifier {
  let verifier = verifiers.get(key.key);
  if (verifier === undefined) {
    const material = toTrustMaterial(NO_AUTHORITIES, () => ({
      publicKey: key.key,
      validFor: () => true,
    }));
    verifier = new Verifier(material, {
      tlogThreshold: 0,
      ctlogThreshold: 0,
      timestampThreshold: 0,
    });
    verifiers.set(key.key, verifier);
  }
  return verifier;
}
