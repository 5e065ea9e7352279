import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIngotError } from '../../domain/errors.js';
import { formatChallenge, parseChallenges, planAuth, type Challenge } from './challenge.js';

describe('WWW-Authenticate challenges', () => {
  it('read the distribution token challenge', () => {
    const h =
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/hello:pull,push"';
    expect(planAuth(parseChallenges(h))).toEqual({
      kind: 'bearer',
      realm: 'https://auth.example/token',
      service: 'registry.example',
      scope: 'repository:team/hello:pull,push',
    });
  });

  it('read Distribution htpasswd basic auth, and prefer Bearer when both are offered', () => {
    expect(planAuth(parseChallenges('Basic realm="basic-realm"'))).toEqual({
      kind: 'basic',
      realm: 'basic-realm',
    });
    const both = parseChallenges('Basic realm=x, Bearer realm="https://a/t", service=s');
    expect(both.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(planAuth(both)).toMatchObject({ kind: 'bearer', service: 's', scope: null });
  });

  it('read token68, escapes and mixed case', () => {
    expect(parseChallenges('NegoTiate abc+/=, BASIC Realm="a \\"q\\" b"')).toEqual([
      { scheme: 'negotiate', params: {}, token68: 'abc+/=' },
      { scheme: 'basic', params: { realm: 'a "q" b' }, token68: null },
    ]);
  });

  it('refuse what cannot be answered or parsed, with one code', () => {
    for (const h of [
      'Bearer service="x"',
      'Negotiate abc',
      '',
      'Bearer realm="unterminated',
      'Bearer realm="a", realm="b"',
      `Bearer realm="${'x'.repeat(9000)}"`,
      'Bearer realm="a" ; x',
    ]) {
      let code = 'none';
      try {
        planAuth(parseChallenges(h));
      } catch (err) {
        if (isIngotError(err)) code = err.code;
      }
      expect(code, h).toBe('E_REGISTRY_CHALLENGE');
    }
  });

  const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
  const challenge: fc.Arbitrary<Challenge> = fc.record({
    scheme: name,
    params: fc.dictionary(name, fc.string({ maxLength: 20 }), { maxKeys: 4 }),
    token68: fc.constant(null),
  });

  it('read back any list of challenges they format', () => {
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 4 }), (list) => {
        expect(parseChallenges(list.map(formatChallenge).join(', '))).toEqual(list);
      }),
    );
  });

  it('never fail on any string with anything but E_REGISTRY_CHALLENGE', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        try {
          parseChallenges(s);
        } catch (err) {
          expect(isIngotError(err) && err.code).toBe('E_REGISTRY_CHALLENGE');
        }
      }),
    );
  });
});
