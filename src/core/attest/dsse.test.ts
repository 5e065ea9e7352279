import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pae } from './dsse.js';

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
    payload: Buffer.from(envelope.payload, 'base64'),
    signatures: envelope.signatures.map((s) => ({
      sig: Buffer.from(s.sig, 'base64'),
      ...(s.keyid !== undefined && { keyid: s.keyid }),
    })),
  };
}

describe('DSSE v1', () => {
  it('encodes the PAE of the protocol example exactly', () => {
    const ex = vectors.protocolExample;
    expect(pae(ex.payloadType, Buffer.from(ex.body)).toString('utf8')).toBe(ex.pae);
  });

  it('is what the ECDSA P-256 example signature of protocol.md covers', () => {
    const ex = vectors.protocolExample;
    const jwk = { kty: 'EC', crv: 'P-256', x: bigToB64url(ex.x), y: bigToB64url(ex.y) };
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const env = decoded(ex.envelope);
    expect(env.payload.toString()).toBe(ex.body);
    const p1363 = { key, dsaEncoding: 'ieee-p1363' as const };
    const sig = env.signatures[0]!.sig;
    expect(verify('sha256', pae(ex.payloadType, env.payload), p1363, sig)).toBe(true);
    // The same signature over another body, or the same body as another type, fails.
    expect(verify('sha256', pae(ex.payloadType, Buffer.from('hello world!')), p1363, sig)).toBe(
      false,
    );
    expect(verify('sha256', pae('text/plain', env.payload), p1363, sig)).toBe(false);
    // And the private scalar of the example signs what the key verifies.
    const priv = createPrivateKey({ key: { ...jwk, d: bigToB64url(ex.d) }, format: 'jwk' });
    const own = sign('sha256', pae(ex.payloadType, env.payload), priv);
    expect(verify('sha256', pae(ex.payloadType, env.payload), key, own)).toBe(true);
  });

  for (const v of vectors.vectors) {
    it(`test vector ${v.id}: the PAE is what its first signature covers`, () => {
      const env = decoded(v.envelope);
      // The envelope's own PAE, except where the vector swapped the payloadType after signing.
      const signed = Buffer.from(v.pae, 'hex');
      expect(pae(env.payloadType, env.payload).equals(signed)).toBe(
        v.id !== 'payload-type-swapped',
      );
      const first = v.envelope.signatures[0]!.keyid ?? v.trustedKeys[0]!;
      const key = ed25519Public(vectors.keys[first]!.public);
      expect(verify(null, signed, key, env.signatures[0]!.sig)).toBe(true);
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
});
