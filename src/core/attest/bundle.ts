import {
  assertBundleLatest,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
  bundleToJSON,
  toDSSEBundle,
  type BundleLatest,
} from '@sigstore/bundle';
import { AttestationError, MAX_BUNDLE_BYTES } from '../../domain/attestation.js';
import { canonicalJsonBytes } from '../canonical-json.js';
import type { DsseEnvelope } from './dsse.js';

/**
 * Sigstore bundle v0.3 with `publicKey` verification material: the format `cosign` and
 * `@sigstore/verify` read. Ingot's bundles carry no transparency-log entries or
 * timestamps (the ledger plays that part), so they verify offline with the key alone.
 */
export function encodeBundle(input: {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  readonly keyId: string;
}): Buffer {
  const bundle = toDSSEBundle({
    artifact: Buffer.from(input.payload),
    artifactType: input.payloadType,
    signature: Buffer.from(input.signature),
    keyHint: input.keyId,
  });
  return canonicalJsonBytes(bundleToJSON(bundle));
}

export interface DecodedBundle {
  /** The bundle as @sigstore/bundle parsed it (what @sigstore/verify checks). */
  readonly bundle: BundleLatest;
  readonly envelope: DsseEnvelope;
  /** `verificationMaterial.publicKey.hint`: which key the signer says it used. */
  readonly keyHint: string;
}

const fail = (code: ConstructorParameters<typeof AttestationError>[0], message: string) =>
  new AttestationError(code, message);

/**
 * Parse a bundle from bytes that anyone could have written: bounded, JSON, the v0.3 media
 * type, exactly one signature, structurally valid, and of the one kind Ingot issues (a DSSE
 * envelope signed with a public key). Nothing here says the signature is good.
 */
export function decodeBundle(bytes: Uint8Array): DecodedBundle {
  if (bytes.length > MAX_BUNDLE_BYTES)
    throw fail(
      'E_BUNDLE_TOO_LARGE',
      `the bundle has ${bytes.length} bytes, more than the ${MAX_BUNDLE_BYTES} allowed`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw fail('E_BUNDLE_NOT_JSON', 'the bundle is not JSON (truncated or not a bundle)');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw fail('E_BUNDLE_INVALID', 'the bundle is not a JSON object');
  const raw = doc as { mediaType?: unknown; dsseEnvelope?: { signatures?: unknown } };
  if (raw.mediaType !== BUNDLE_V03_MEDIA_TYPE)
    throw fail(
      'E_BUNDLE_MEDIA_TYPE',
      `the bundle's mediaType is ${JSON.stringify(raw.mediaType)}, expected ${BUNDLE_V03_MEDIA_TYPE}`,
    );
  const signatures = raw.dsseEnvelope?.signatures;
  if (Array.isArray(signatures) && signatures.length !== 1)
    throw fail(
      'E_BUNDLE_SIGNATURES',
      `the bundle's envelope has ${signatures.length} signatures; a Sigstore bundle carries exactly one (co-signers attach bundles of their own)`,
    );
  let bundle;
  try {
    bundle = bundleFromJSON(doc);
    assertBundleLatest(bundle);
  } catch (err) {
    const fields = (err as { fields?: unknown }).fields;
    throw fail(
      'E_BUNDLE_INVALID',
      `the bundle is not a valid Sigstore bundle${Array.isArray(fields) ? ` (${fields.join(', ')})` : ''}`,
    );
  }
  if (bundle.content.$case !== 'dsseEnvelope')
    throw fail('E_BUNDLE_INVALID', 'the bundle holds a message signature, not a DSSE envelope');
  if (bundle.verificationMaterial.content.$case !== 'publicKey')
    throw fail('E_BUNDLE_INVALID', 'the bundle is not signed with a public key (no key hint)');
  const { dsseEnvelope } = bundle.content;
  const signature = dsseEnvelope.signatures[0]!;
  return {
    bundle,
    keyHint: bundle.verificationMaterial.content.publicKey.hint,
    envelope: {
      payloadType: dsseEnvelope.payloadType,
      payload: dsseEnvelope.payload,
      signatures: [{ sig: signature.sig, keyid: signature.keyid }],
    },
  };
}
