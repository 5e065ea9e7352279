import { describe, expect, it } from 'vitest';
import { SpecError } from '../yaml-spec.js';
import {
  currentContext,
  EMPTY_CONTEXT_FILE,
  MAX_CONTEXT_FILE_BYTES,
  parseContextFile,
  serializeContextFile,
  withContext,
  withCurrent,
  withoutContext,
} from './index.js';

const FILE = '/home/u/.config/ingot/config.yaml';
const parse = (text: string) => parseContextFile(Buffer.from(text), FILE);

/** The SpecError parsing `text` throws. */
function refusal(text: string | Buffer): SpecError {
  try {
    parseContextFile(typeof text === 'string' ? Buffer.from(text) : text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return err as SpecError;
  }
  throw new Error('the file was accepted');
}

const GOOD = `current: lc
contexts:
  lc:
    server: http://10.87.0.1:7070
    tokenFile: /var/tmp/ingot-local-cluster/s1/token
  prod:
    server: https://ingot.example:8443/api
    tokenFile: /etc/ingot/token
    caFile: /etc/ingot/ca.pem
`;

describe('the context file', () => {
  it('reads contexts and the current one', () => {
    const f = parse(GOOD);
    expect(f.current).toBe('lc');
    expect([...f.contexts.keys()]).toEqual(['lc', 'prod']);
    expect(currentContext(f)).toEqual({
      name: 'lc',
      server: 'http://10.87.0.1:7070',
      tokenFile: '/var/tmp/ingot-local-cluster/s1/token',
    });
    expect(f.contexts.get('prod')?.caFile).toBe('/etc/ingot/ca.pem');
  });

  it('is empty when the file is, or says nothing', () => {
    for (const text of ['', '# nothing\n', 'contexts: {}\n', 'current: null\ncontexts: null\n']) {
      const f = parse(text);
      expect(f.current, text).toBeNull();
      expect(f.contexts.size, text).toBe(0);
      expect(currentContext(f)).toBeNull();
    }
  });

  it('names every problem at once, with its line, under one code', () => {
    const err = refusal(
      [
        'current: gone',
        'contexts:',
        '  ok:',
        '    server: ftp://h',
        '    tokenFile: relative/token',
        '    caFile: /ca.pem',
        '    token: abc',
        '  -bad:',
        '    server: http://h',
        '    tokenFile: /t',
        '  plain:',
        '    server: http://user:pw@h',
        '    tokenFile: /t',
        '',
      ].join('\n'),
    );
    expect(err.code).toBe('E_CONTEXT_INVALID');
    expect(err.message).toMatch(/^\/home\/u\/\.config\/ingot\/config\.yaml: \d+ problems/);
    const paths = err.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'current',
        'contexts.ok.server',
        'contexts.ok.tokenFile',
        'contexts.ok.token',
        'contexts.plain.server',
      ]),
    );
    expect(err.issues.find((i) => i.path === 'contexts.ok.tokenFile')?.line).toBe(5);
    expect(err.message).toContain('-bad');
    expect(err.message).toContain('no credentials in it');
  });

  it('wants a CA file only for an https server', () => {
    const err = refusal(
      'contexts:\n  a:\n    server: http://h\n    tokenFile: /t\n    caFile: /ca.pem\n',
    );
    expect(err.code).toBe('E_CONTEXT_INVALID');
    expect(err.issues.map((i) => i.path)).toEqual(['contexts.a.caFile']);
    expect(err.issues[0]?.message).toMatch(/https/);
  });

  it('refuses what is not a context file as such: syntax, size, encoding, alias bombs', () => {
    expect(refusal('contexts: [\n').code).toBe('E_CONTEXT_SYNTAX');
    expect(refusal('current: a\ncurrent: b\n').code).toBe('E_CONTEXT_SYNTAX');
    expect(refusal(Buffer.alloc(MAX_CONTEXT_FILE_BYTES + 1, 0x20)).code).toBe(
      'E_CONTEXT_TOO_LARGE',
    );
    expect(refusal(Buffer.from([0x63, 0x3a, 0x20, 0xff, 0x0a])).code).toBe('E_CONTEXT_ENCODING');
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      bomb.push(
        `${'abcdefghijkl'[i]}: &${'abcdefghijkl'[i]} [${Array(10)
          .fill(`*${'abcdefghijkl'[i - 1]}`)
          .join(', ')}]`,
      );
    expect(refusal(bomb.join('\n') + '\n').code).toBe('E_CONTEXT_SYNTAX');
    expect(refusal('- a\n- b\n').code).toBe('E_CONTEXT_INVALID');
    expect(refusal('contexts:\n  a: 1\n').code).toBe('E_CONTEXT_INVALID');
  });

  it('takes a name such as "constructor" as a name, not a property every object has', () => {
    const f = parse('contexts:\n  constructor:\n    server: http://h\n    tokenFile: /t\n');
    expect(f.contexts.get('constructor')?.server).toBe('http://h');
    expect(parse('contexts: {}\n').contexts.has('constructor')).toBe(false);
    expect(refusal('current: toString\n').issues[0]?.path).toBe('current');
  });
});

describe('changing the context file', () => {
  const lc = { server: 'http://10.87.0.1:7070', tokenFile: '/s1/token' };

  it('adds, replaces, makes current and removes, each a new file', () => {
    const added = withContext(EMPTY_CONTEXT_FILE, 'lc', lc);
    expect(EMPTY_CONTEXT_FILE.contexts.size).toBe(0);
    expect(currentContext(added)).toBeNull();
    const used = withCurrent(added, 'lc');
    expect(currentContext(used)?.name).toBe('lc');
    const replaced = withContext(used, 'lc', { ...lc, server: 'http://h:1' });
    expect(currentContext(replaced)?.server).toBe('http://h:1');
    const other = withCurrent(withContext(replaced, 'b', lc), 'b');
    expect(withoutContext(other, 'lc').current).toBe('b');
    // Removing the current context leaves none current: commands reach the home's server.
    expect(withoutContext(replaced, 'lc')).toEqual({ current: null, contexts: new Map() });
  });

  it('writes what it reads back, contexts sorted, no current when none is', () => {
    const f = withCurrent(
      withContext(withContext(EMPTY_CONTEXT_FILE, 'zeta', lc), 'alpha', {
        server: 'https://a',
        tokenFile: '/t',
        caFile: '/ca',
      }),
      'zeta',
    );
    const text = serializeContextFile(f);
    expect(text.indexOf('alpha:')).toBeLessThan(text.indexOf('zeta:'));
    expect(parse(text)).toEqual(f);
    const none = serializeContextFile(withCurrent(f, null));
    expect(none).not.toMatch(/^current:/m);
    expect(parse(none).current).toBeNull();
  });
});
