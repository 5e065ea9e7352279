import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, pae, verifyEnvelope, verifySignature, type TrustedKey } from './dsse.js';

interface Envelope {
  payload: string;
  payloadType: string;
  signatures: { sig: string; keyid?: string }[];
}
interface Vectors {
  keys: Record<string, { seed: string; public: string }>;
  protocolExample: {
    payloadType: string;
    body: string;
    pae: string;
    x: string;
    y: string;
    d: string;
    envelope: Envelope;
  };
  vectors: {
    id: string;
    envelope: Envelope;
    trustedKeys: string[];
    threshold: number;
    supportedPayloadTypes: string[];
    pae: string;
    expect: 'accept' | 'reject';
  }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/dsse/vectors.json', import.meta.url), 'utf8'),
) as Vectors;

const b64url = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
const bigToB64url = (n: string) =>
  Buffer.from(BigInt(n).toString(16).padStart(64, '0'), 'hex').toString('base64url');

function ed25519Public(hex: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(hex) }, format: 'jwk' });
}

function decoded(envelope: Envelope) {
  return {
    payloadType: envelope.payloadType,
    payload: decodeBase64(envelope.payload)!,
    signatures: envelope.signatures.map((s) => ({
      sig: decodeBase64(s.sig)!,
      ...(s.keyid !== undefined && { keyid: s.keyid }),
    })),
  };
}

describe('DSSE v1', () => {
  it('encodes the PAE of the protocol example exactly', () => {
    const ex = vectors.protocolExample;
    expect(pae(ex.payloadType, Buffer.from(ex.body)).toString('utf8')).toBe(ex.pae);
  });

  it('verifies the ECDSA P-256 example signature of protocol.md', () => {
    const ex = vectors.protocolExample;
    const jwk = { kty: 'EC', crv: 'P-256', x: bigToB64url(ex.x), y: bigToB64url(ex.y) };
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const env = decoded(ex.envelope);
    expect(env.payload.toString()).toBe(ex.body);
    const verdict = verifyEnvelope(env, [{ id: 'example', key }], {
      threshold: 1,
      payloadTypes: [ex.payloadType],
      ecdsaEncoding: 'ieee-p1363',
    });
    expect(verdict).toEqual({ accepted: true, acceptedKeys: ['example'] });
    // The same signature over another body fails.
    const tampered = { ...env, payload: Buffer.from('hello world!') };
    expect(
      verifyEnvelope(tampered, [{ id: 'example', key }], {
        threshold: 1,
        payloadTypes: [ex.payloadType],
        ecdsaEncoding: 'ieee-p1363',
      }).accepted,
    ).toBe(false);
    // And the private scalar of the example signs something this verifier accepts.
    const priv = createPrivateKey({ key: { ...jwk, d: bigToB64url(ex.d) }, format: 'jwk' });
    const sig = sign('sha256', pae(ex.payloadType, env.payload), priv);
    expect(verifySignature(key, pae(ex.payloadType, env.payload), sig)).toBe(true);
  });

  for (const v of vectors.vectors) {
    it(`test vector ${v.id}: ${v.expect}`, () => {
      const env = decoded(v.envelope);
      // `pae` is what the first signature covers: the envelope's own PAE, except where the
      // vector swapped the payloadType after signing.
      const signed = Buffer.from(v.pae, 'hex');
      if (v.id !== 'payload-type-swapped')
        expect(pae(env.payloadType, env.payload).equals(signed)).toBe(true);
      const first = v.envelope.signatures[0]!.keyid ?? v.trustedKeys[0]!;
      expect(
        verifySignature(ed25519Public(vectors.keys[first]!.public), signed, env.signatures[0]!.sig),
      ).toBe(true);
      const keys: TrustedKey[] = v.trustedKeys.map((id) => ({
        id,
        key: ed25519Public(vectors.keys[id]!.public),
      }));
      const verdict = verifyEnvelope(env, keys, {
        threshold: v.threshold,
        payloadTypes: v.supportedPayloadTypes,
      });
      expect(verdict.accepted ? 'accept' : 'reject').toBe(v.expect);
    });
  }

  it('PAE lengths are byte lengths and the encoding is injective', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.uint8Array(),
        fc.string({ unit: 'grapheme' }),
        fc.uint8Array(),
        (t1, b1, t2, b2) => {
          const same = pae(t1, b1).equals(pae(t2, b2));
          expect(same).toBe(t1 === t2 && Buffer.from(b1).equals(Buffer.from(b2)));
        },
      ),
    );
  });

  it('base64 decoding accepts both alphabets and refuses anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b = Buffer.from(bytes);
        expect(decodeBase64(b.toString('base64'))?.equals(b)).toBe(true);
        expect(decodeBase64(b.toString('base64url'))?.equals(b)).toBe(true);
      }),
    );
    expect(decodeBase64('aGVs bG8=')).toBeNull();
    expect(decodeBase64('aGVsbG8*')).toBeNull();
    expect(decodeBase64('a')).toBeNull();
    expect(decodeBase64('ab+_')).toBeNull();
  });
});
