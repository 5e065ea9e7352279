import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIngotError } from '../../domain/errors.js';
import { findCredentials, parseCredsFlag } from './credentials.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const file = (auths: Record<string, unknown>) => JSON.stringify({ auths });

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isIngotError(err)) return err.code;
    throw err;
  }
  return 'none';
}

describe('registry credentials', () => {
  it('are found by host:port, whatever form the key takes', () => {
    const text = file({
      'https://index.docker.io/v1/': { auth: b64('hub:x') },
      '127.0.0.1:5000': { auth: b64('alice:pa:ss') },
      'https://Registry.Example:8443/v2/': { username: 'bob', password: 'pw' },
    });
    expect(findCredentials(text, '127.0.0.1:5000', 'auth.json')).toEqual({
      username: 'alice',
      password: 'pa:ss',
    });
    expect(findCredentials(text, 'registry.example:8443', 'auth.json')).toEqual({
      username: 'bob',
      password: 'pw',
    });
    expect(findCredentials(text, 'index.docker.io', 'auth.json')).toEqual({
      username: 'hub',
      password: 'x',
    });
    expect(findCredentials(text, '127.0.0.1:5001', 'auth.json')).toBeNull();
    expect(findCredentials('{}', '127.0.0.1:5000', 'auth.json')).toBeNull();
  });

  it('read back any user and password written as docker does', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[^:]{1,20}$/),
        fc.string({ maxLength: 30 }),
        (username, password) => {
          const text = file({ 'localhost:5000': { auth: b64(`${username}:${password}`) } });
          expect(findCredentials(text, 'localhost:5000', 'f')).toEqual({ username, password });
        },
      ),
    );
  });

  it('refuse a malformed file without echoing the secret', () => {
    for (const text of [
      'not json',
      '[]',
      '{"auths": []}',
      file({ 'h:1': 'x' }),
      file({ 'h:1': { auth: 'not base64!' } }),
      file({ 'h:1': { auth: b64('nocolon-secret') } }),
      file({ 'h:1': {} }),
    ]) {
      let caught: unknown;
      try {
        findCredentials(text, 'h:1', 'auth.json');
      } catch (err) {
        caught = err;
      }
      expect(isIngotError(caught) && caught.code, text).toBe('E_REGISTRY_CREDENTIALS');
      expect(String((caught as Error).message)).not.toContain('secret');
    }
  });

  it('take --creds USER:PASS, the password with any colons', () => {
    expect(parseCredsFlag('u:p:q')).toEqual({ username: 'u', password: 'p:q' });
    expect(codeOf(() => parseCredsFlag(':p'))).toBe('E_REGISTRY_CREDENTIALS');
    expect(codeOf(() => parseCredsFlag('user'))).toBe('E_REGISTRY_CREDENTIALS');
  });
});
