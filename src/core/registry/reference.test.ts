import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIngotError } from '../../domain/errors.js';
import type { Digest } from '../../domain/digest.js';
import type { RegistryReference } from '../../domain/registry.js';
import {
  formatReference,
  isRegistryReference,
  parseReference,
  pinnedReference,
} from './reference.js';

const D = `sha256:${'ab'.repeat(32)}` as Digest;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isIngotError(err)) return err.code;
    throw err;
  }
  return 'none';
}

const alnumLower = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const component = fc
  .tuple(
    alnumLower,
    fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--'), alnumLower), { maxLength: 3 }),
  )
  .map(([head, rest]) => head + rest.map(([s, c]) => s + c).join(''));
const repository = fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join('/'));
const tag = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}$/);
const host = fc.oneof(
  fc.constant('127.0.0.1'),
  fc.constant('[::1]'),
  fc
    .array(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/), { minLength: 1, maxLength: 3 })
    .map((l) => l.join('.')),
);
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}` as Digest);
const reference: fc.Arbitrary<RegistryReference> = fc.record({
  host,
  port: fc.option(fc.integer({ min: 1, max: 65535 })),
  repository,
  tag: fc.option(tag),
  digest: fc.option(digest),
});

describe('registry references', () => {
  it('read HOST[:PORT]/REPO[:TAG] and @digest', () => {
    expect(parseReference('127.0.0.1:5000/team/hello:1.0')).toEqual({
      host: '127.0.0.1',
      port: 5000,
      repository: 'team/hello',
      tag: '1.0',
      digest: null,
    });
    expect(parseReference(`registry.example/hello@${D}`)).toEqual({
      host: 'registry.example',
      port: null,
      repository: 'hello',
      tag: null,
      digest: D,
    });
    expect(parseReference(`[::1]:5000/a:b@${D}`)).toMatchObject({
      host: '[::1]',
      port: 5000,
      tag: 'b',
      digest: D,
    });
  });

  it('read back what they format, for any valid reference', () => {
    fc.assert(
      fc.property(reference, (ref) => {
        expect(parseReference(formatReference(ref))).toEqual(ref);
      }),
    );
  });

  it('refuse each kind of bad input with its own code', () => {
    expect(codeOf(() => parseReference('hello'))).toBe('E_REGISTRY_REF_INVALID');
    expect(codeOf(() => parseReference('host/'))).toBe('E_REGISTRY_REF_INVALID');
    expect(codeOf(() => parseReference('/repo'))).toBe('E_REGISTRY_REF_INVALID');
    expect(codeOf(() => parseReference('x'.repeat(600)))).toBe('E_REGISTRY_REF_INVALID');
    expect(codeOf(() => parseReference('host:99999/repo'))).toBe('E_REGISTRY_HOST_INVALID');
    expect(codeOf(() => parseReference('bad_host/repo'))).toBe('E_REGISTRY_HOST_INVALID');
    expect(codeOf(() => parseReference('-h/repo'))).toBe('E_REGISTRY_HOST_INVALID');
    expect(codeOf(() => parseReference('host/Repo'))).toBe('E_REGISTRY_REPO_INVALID');
    expect(codeOf(() => parseReference('host/a..b'))).toBe('E_REGISTRY_REPO_INVALID');
    expect(codeOf(() => parseReference('host/a//b'))).toBe('E_REGISTRY_REPO_INVALID');
    expect(codeOf(() => parseReference('host/a:.tag'))).toBe('E_REGISTRY_TAG_INVALID');
    expect(codeOf(() => parseReference(`host/a:${'t'.repeat(129)}`))).toBe(
      'E_REGISTRY_TAG_INVALID',
    );
    expect(codeOf(() => parseReference('host/a:'))).toBe('E_REGISTRY_TAG_INVALID');
    expect(codeOf(() => parseReference('host/a@sha256:abc'))).toBe('E_DIGEST_INVALID');
    expect(codeOf(() => parseReference(`host/a@sha512:${'a'.repeat(128)}`))).toBe(
      'E_DIGEST_ALGORITHM',
    );
  });

  it('never fail on any string with anything but a coded error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const code = codeOf(() => parseReference(s));
        expect(code).toMatch(/^(none|E_REGISTRY_[A-Z_]+|E_DIGEST_[A-Z]+)$/);
      }),
    );
  });

  it('tell a registry image from a local tag as Docker does: by a host in front', () => {
    for (const local of ['hello:1.0.0', 'team/hello:1', 'hello', D, 'a/b/c:1', 'Hello:1'])
      expect(isRegistryReference(local), local).toBe(false);
    for (const remote of [
      '127.0.0.1:5000/hello:1.0.0',
      'localhost/hello',
      'registry.example/team/hello@' + D,
      '[::1]:5000/a',
    ])
      expect(isRegistryReference(remote), remote).toBe(true);
    // A host-looking first part that does not parse is no reference (deploy says not found).
    expect(isRegistryReference('bad_host.x/repo')).toBe(false);
    fc.assert(
      fc.property(reference, (ref) => {
        const typed = formatReference(ref);
        const hostLike = ref.port !== null || ref.host.includes('.') || ref.host.includes(':');
        expect(isRegistryReference(typed)).toBe(hostLike || ref.host === 'localhost');
      }),
    );
  });

  it('pin a reference to a digest without its tag, which may move', () => {
    fc.assert(
      fc.property(reference, digest, (ref, d) => {
        expect(parseReference(pinnedReference(ref, d))).toEqual({ ...ref, tag: null, digest: d });
      }),
    );
  });
});
