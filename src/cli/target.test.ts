import { describe, expect, it } from 'vitest';
import { UsageError } from '../domain/errors.js';
import { homeApi, resolveTarget, type ApiSettings } from './target.js';

const HOME = '/var/lib/ingot';
const settings = (
  flags: ApiSettings['flags'] = {},
  env: Record<string, string | undefined> = {},
): ApiSettings => ({ home: HOME, flags, env });

/** The usage error `resolveTarget` throws for these settings. */
function refusal(s: ApiSettings): UsageError {
  try {
    resolveTarget(s);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('resolveTarget did not refuse');
}

describe('where the CLI reaches the API', () => {
  it("is this home's server when nothing names another, as before", () => {
    expect(resolveTarget(settings())).toEqual({ kind: 'home', home: HOME });
    // An empty variable is no variable (`INGOT_SERVER= ingot status`).
    expect(resolveTarget(settings({}, { INGOT_SERVER: '', INGOT_TOKEN_FILE: '' }))).toEqual({
      kind: 'home',
      home: HOME,
    });
    expect(resolveTarget(homeApi(HOME))).toEqual({ kind: 'home', home: HOME });
  });

  it('is the server INGOT_SERVER names, with the token file INGOT_TOKEN_FILE names', () => {
    expect(
      resolveTarget(settings({}, { INGOT_SERVER: 'http://10.0.0.5:7070', INGOT_TOKEN_FILE: '/t' })),
    ).toEqual({
      kind: 'url',
      base: 'http://10.0.0.5:7070',
      tls: false,
      host: '10.0.0.5',
      port: 7070,
      prefix: '',
      others: [],
      server: { value: 'http://10.0.0.5:7070', from: 'INGOT_SERVER' },
      tokenFile: { value: '/t', from: 'INGOT_TOKEN_FILE' },
    });
  });

  it('takes the flags over the environment, each on its own', () => {
    const t = resolveTarget(
      settings(
        { server: 'https://api.example:8443/', caFile: '/ca.pem' },
        {
          INGOT_SERVER: 'http://other:1',
          INGOT_TOKEN_FILE: '/env-token',
          INGOT_CA_FILE: '/env-ca',
        },
      ),
    );
    expect(t).toMatchObject({
      kind: 'url',
      base: 'https://api.example:8443',
      tls: true,
      server: { from: '--server' },
      tokenFile: { value: '/env-token', from: 'INGOT_TOKEN_FILE' },
      caFile: { value: '/ca.pem', from: '--server-ca-file' },
    });
    expect(
      resolveTarget(
        settings({ tokenFile: '/flag' }, { INGOT_SERVER: 'http://h', INGOT_TOKEN_FILE: '/e' }),
      ),
    ).toMatchObject({ tokenFile: { value: '/flag', from: '--token-file' } });
  });

  it('fills in default ports, unbrackets IPv6, keeps a path prefix without its slash', () => {
    const at = (server: string) => resolveTarget(settings({ server, tokenFile: '/t' }));
    expect(at('http://h')).toMatchObject({ port: 80, host: 'h', base: 'http://h' });
    expect(at('https://h')).toMatchObject({ port: 443, tls: true });
    expect(at('https://H.Example:443/')).toMatchObject({ base: 'https://h.example', port: 443 });
    expect(at('http://[::1]:7070')).toMatchObject({
      host: '::1',
      port: 7070,
      base: 'http://[::1]:7070',
    });
    expect(at('https://edge/ingot/')).toMatchObject({
      prefix: '/ingot',
      base: 'https://edge/ingot',
    });
  });

  it('refuses a server that is not an http(s) URL of a host, naming where it came from', () => {
    for (const bad of [
      'localhost:7070',
      'ftp://h',
      'unix:///run/ingot.sock',
      'http://user:pass@h',
      'http://h/?token=x',
      'http://h/#x',
      'http://h:0',
      'http://',
      'not a url',
    ]) {
      const err = refusal(settings({}, { INGOT_SERVER: bad, INGOT_TOKEN_FILE: '/t' }));
      expect(err.message, bad).toMatch(/^INGOT_SERVER must be http:\/\/HOST\[:PORT\] or https/);
    }
    expect(refusal(settings({ server: 'ftp://h', tokenFile: '/t' })).message).toMatch(/^--server /);
  });

  it('wants a token file with a server: the home token is never sent elsewhere', () => {
    expect(refusal(settings({ server: 'http://h:1' })).message).toMatch(
      /--server names http:\/\/h:1, but no token for it: give --token-file FILE or INGOT_TOKEN_FILE/,
    );
  });

  it('refuses a token or CA file without a server, rather than sending it to the home server', () => {
    expect(refusal(settings({ tokenFile: '/t' })).message).toMatch(
      /^--token-file is for a server named by --server or INGOT_SERVER, and none is/,
    );
    expect(refusal(settings({}, { INGOT_CA_FILE: '/ca' })).message).toMatch(
      /^INGOT_CA_FILE is for/,
    );
  });

  it('refuses a CA file for plain http: it would protect nothing', () => {
    expect(
      refusal(settings({ server: 'http://h', tokenFile: '/t', caFile: '/ca' })).message,
    ).toMatch(/--server-ca-file is for https, but --server is http:\/\/h/);
  });
});

describe('several servers of one cluster', () => {
  it('are named with commas: the first is called, the others when it cannot be reached', () => {
    const t = resolveTarget(
      settings({ server: 'http://10.0.0.1:7070, http://10.0.0.2:7070', tokenFile: '/t' }),
    );
    expect(t).toMatchObject({
      kind: 'url',
      base: 'http://10.0.0.1:7070',
      others: [{ base: 'http://10.0.0.2:7070', host: '10.0.0.2', port: 7070 }],
    });
  });

  it('must all be URLs of one scheme, and a few', () => {
    expect(refusal(settings({ server: 'http://a:1,nope', tokenFile: '/t' })).message).toMatch(
      /nope: not a URL/,
    );
    expect(
      refusal(settings({ server: 'http://a:1,https://b:2', tokenFile: '/t' })).message,
    ).toMatch(/all http:\/\/ or all https:\/\//);
    const nine = Array.from({ length: 9 }, (_, i) => `http://h${i}:1`).join(',');
    expect(refusal(settings({ server: nine, tokenFile: '/t' })).message).toMatch(/at most 8/);
  });
});

describe('the current context', () => {
  const FILE = '/home/u/.config/ingot/config.yaml';
  const lc = {
    name: 'lc',
    file: FILE,
    server: 'http://10.87.0.1:7070',
    tokenFile: '/lc/token',
  };
  const withContext = (
    flags: ApiSettings['flags'] = {},
    env: Record<string, string | undefined> = {},
    context: ApiSettings['context'] = () => lc,
  ): ApiSettings => ({ home: HOME, flags, env, context });

  it('is reached when neither --server nor INGOT_SERVER names a server, each setting named as from it', () => {
    const from = `the context "lc" of ${FILE}`;
    expect(resolveTarget(withContext())).toEqual({
      kind: 'url',
      base: 'http://10.87.0.1:7070',
      tls: false,
      host: '10.87.0.1',
      port: 7070,
      prefix: '',
      others: [],
      server: { value: 'http://10.87.0.1:7070', from },
      tokenFile: { value: '/lc/token', from },
    });
    expect(
      resolveTarget(
        withContext({}, {}, () => ({ ...lc, server: 'https://h/', caFile: '/ca.pem' })),
      ),
    ).toMatchObject({ tls: true, caFile: { value: '/ca.pem', from } });
  });

  it('gives way to the flag and the environment, and is not even read then', () => {
    const unread = () => {
      throw new Error('the context file was read');
    };
    expect(
      resolveTarget(withContext({ server: 'http://flag:1', tokenFile: '/t' }, {}, unread)),
    ).toMatchObject({ base: 'http://flag:1', server: { from: '--server' } });
    expect(
      resolveTarget(
        withContext({}, { INGOT_SERVER: 'http://env:1', INGOT_TOKEN_FILE: '/t' }, unread),
      ),
    ).toMatchObject({ base: 'http://env:1', tokenFile: { from: 'INGOT_TOKEN_FILE' } });
  });

  it("is this home's server again when none is current", () => {
    expect(resolveTarget(withContext({}, {}, () => null))).toEqual({ kind: 'home', home: HOME });
  });

  it("never gets another token file: a stray --token-file is refused, not sent to the context's server", () => {
    expect(refusal(withContext({ tokenFile: '/mine' })).message).toMatch(
      /^--token-file is for a server named by --server or INGOT_SERVER, and none is: .*the current context/,
    );
    expect(refusal(withContext({}, { INGOT_CA_FILE: '/ca' })).message).toMatch(
      /^INGOT_CA_FILE is for/,
    );
  });
});
