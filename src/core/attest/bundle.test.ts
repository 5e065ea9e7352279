import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InToto, MAX_BUNDLE_BYTES } from '../../domain/attestation.js';
import type { Digest } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import { decodeBundle, encodeBundle } from './bundle.js';
import { pae } from './dsse.js';
import { keyIdOf } from './keys.js';
import { verifyBundle } from './verify-bundle.js';

const subject = `sha256:${'ab'.repeat(32)}` as Digest;
const statement = (about: Digest = subject) =>
  Buffer.from(
    JSON.stringify({
      _type: InToto.statementType,
      subject: [{ name: 'x', digest: { sha256: about.slice(7) } }],
      predicateType: 'https://example.com/p/v1',
      predicate: {},
    }),
  );

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, trusted: { id: keyIdOf(publicKey), key: publicKey } };
}

function signed(
  k: ReturnType<typeof keyPair>,
  payload = statement(),
  payloadType: string = InToto.payloadType,
): Buffer {
  return encodeBundle({
    payloadType,
    payload,
    signature: sign('sha256', pae(payloadType, payload), k.privateKey),
    keyId: k.trusted.id,
  });
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isIngotError(err)) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('Sigstore bundles', () => {
  const k = keyPair();

  it('round-trip: the decoded envelope is what was signed', () => {
    const bytes = signed(k);
    const { envelope, keyHint } = decodeBundle(bytes);
    expect(keyHint).toBe(k.trusted.id);
    expect(Buffer.from(envelope.payload)).toEqual(statement());
    expect(verifyBundle(bytes, [k.trusted], subject)).toMatchObject({
      status: 'verified',
      keyId: k.trusted.id,
    });
  });

  it('gives each kind of damage its own code', () => {
    const good = signed(k);
    const doc = JSON.parse(good.toString()) as {
      mediaType: string;
      dsseEnvelope: { payload: string; payloadType: string; signatures: unknown[] };
    };
    const variant = (edit: (d: typeof doc) => void) => {
      const copy = structuredClone(doc);
      edit(copy);
      return Buffer.from(JSON.stringify(copy));
    };
    const verify = (bytes: Buffer) => code(() => verifyBundle(bytes, [k.trusted], subject));

    expect(verify(good.subarray(0, good.length - 10))).toBe('E_BUNDLE_NOT_JSON');
    expect(verify(Buffer.from('not json at all'))).toBe('E_BUNDLE_NOT_JSON');
    expect(verify(Buffer.from('[]'))).toBe('E_BUNDLE_INVALID');
    expect(verify(Buffer.alloc(MAX_BUNDLE_BYTES + 1, 0x20))).toBe('E_BUNDLE_TOO_LARGE');
    expect(
      verify(
        variant((d) => (d.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.1')),
      ),
    ).toBe('E_BUNDLE_MEDIA_TYPE');
    expect(
      verify(variant((d) => d.dsseEnvelope.signatures.push(d.dsseEnvelope.signatures[0]))),
    ).toBe('E_BUNDLE_SIGNATURES');
    expect(verify(variant((d) => (d.dsseEnvelope.payload = '')))).toBe('E_BUNDLE_INVALID');
    expect(
      verify(
        variant(
          (d) =>
            (d.dsseEnvelope.payload = Buffer.from(
              statement().toString().replace('"x"', '"y"'),
            ).toString('base64')),
        ),
      ),
    ).toBe('E_SIGNATURE_INVALID');
    expect(verify(variant((d) => (d.dsseEnvelope.payloadType = 'application/json')))).toBe(
      'E_PAYLOAD_TYPE',
    );
    // Properly signed, but as another type: still refused.
    expect(verify(signed(k, statement(), 'application/vnd.example+json'))).toBe('E_PAYLOAD_TYPE');
    expect(verify(signed(k, Buffer.from('{"not":"a statement"}')))).toBe('E_STATEMENT_INVALID');
    expect(verify(signed(k, Buffer.from('nope')))).toBe('E_STATEMENT_INVALID');
    expect(verify(signed(k, statement(`sha256:${'cd'.repeat(32)}` as Digest)))).toBe(
      'E_SUBJECT_MISMATCH',
    );
  });

  it('reports a signature by an untrusted key as such, and never trusts the hint', () => {
    const stranger = keyPair();
    expect(verifyBundle(signed(stranger), [k.trusted], subject)).toEqual({
      status: 'unknown-key',
      keyHint: stranger.trusted.id,
    });
    // A trusted key's signature with a lying hint still counts as that key's.
    const lying = encodeBundle({
      payloadType: InToto.payloadType,
      payload: statement(),
      signature: sign('sha256', pae(InToto.payloadType, statement()), k.privateKey),
      keyId: stranger.trusted.id,
    });
    expect(verifyBundle(lying, [k.trusted], subject)).toMatchObject({ keyId: k.trusted.id });
    // …also when the hint names another trusted key.
    const second = keyPair();
    const misHinted = encodeBundle({
      payloadType: InToto.payloadType,
      payload: statement(),
      signature: sign('sha256', pae(InToto.payloadType, statement()), second.privateKey),
      keyId: k.trusted.id,
    });
    expect(verifyBundle(misHinted, [k.trusted, second.trusted], subject)).toMatchObject({
      keyId: second.trusted.id,
    });
    // A stranger's signature claiming a trusted key's id is a forgery attempt.
    const forged = encodeBundle({
      payloadType: InToto.payloadType,
      payload: statement(),
      signature: sign('sha256', pae(InToto.payloadType, statement()), stranger.privateKey),
      keyId: k.trusted.id,
    });
    expect(code(() => verifyBundle(forged, [k.trusted], subject))).toBe('E_SIGNATURE_INVALID');
  });
});

describe('key ids', () => {
  it('are the same for a key written with a compressed or an uncompressed point', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x!, 'base64url');
    const y = Buffer.from(jwk.y!, 'base64url');
    const compressedPoint = Buffer.concat([Buffer.from([2 + (y[31]! & 1)]), x]);
    // SubjectPublicKeyInfo for id-ecPublicKey / prime256v1 with a 33-byte point.
    const spki = Buffer.concat([
      Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
      compressedPoint,
    ]);
    const compressed = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(compressed.export({ type: 'spki', format: 'der' })).not.toEqual(
      publicKey.export({ type: 'spki', format: 'der' }),
    );
    expect(keyIdOf(compressed)).toBe(keyIdOf(publicKey));
  });
});
