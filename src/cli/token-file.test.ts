import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IngotError } from '../domain/errors.js';
import { readCaFile, readTokenFile, tokenFileProblem, tokenOf } from './token-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ingot-token-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IngotError);
    return (err as IngotError).code;
  }
  throw new Error('no error');
}

const named = (value: string) => ({ value, from: '--token-file' });

describe('token files', () => {
  it('refuse any access for group or others, as ssh refuses such a key', () => {
    const facts = (mode: number) => ({ regular: true, mode: 0o100000 | mode, size: 65 });
    for (const mode of [0o600, 0o400, 0o700]) expect(tokenFileProblem(facts(mode))).toBeNull();
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o620, 0o601])
      expect(tokenFileProblem(facts(mode))).toEqual({
        code: 'E_TOKEN_FILE_INSECURE',
        why: `its permissions 0${mode.toString(8)} are too open: others can read the token`,
      });
    expect(tokenFileProblem({ regular: false, mode: 0o600, size: 0 })?.code).toBe('E_TOKEN_FILE');
    expect(tokenFileProblem({ regular: true, mode: 0o600, size: 4097 })?.code).toBe('E_TOKEN_FILE');
  });

  it('hold one token, trimmed, in printable ASCII', () => {
    expect(tokenOf('  abc123\n')).toBe('abc123');
    expect(tokenOf('')).toBeNull();
    expect(tokenOf('\n')).toBeNull();
    expect(tokenOf('two words')).toBeNull();
    expect(tokenOf('a\r\nInjected: header')).toBeNull();
    expect(tokenOf('tökén')).toBeNull();
  });

  it('are read with their mode checked, and every problem has its code', () => {
    expect(readTokenFile(named(file('ok', 'f00d\n', 0o600)))).toBe('f00d');
    const open = file('open', 'f00d\n', 0o644);
    expect(codeOf(() => readTokenFile(named(open)))).toBe('E_TOKEN_FILE_INSECURE');
    expect(() => readTokenFile(named(open))).toThrow(`run \`chmod 600 ${open}\``);
    expect(codeOf(() => readTokenFile(named(join(dir, 'missing'))))).toBe('E_TOKEN_FILE');
    expect(codeOf(() => readTokenFile(named(dir)))).toBe('E_TOKEN_FILE');
    expect(codeOf(() => readTokenFile(named(file('empty', ' \n', 0o600))))).toBe('E_TOKEN_FILE');
    expect(codeOf(() => readTokenFile(named(file('big', 'a'.repeat(5000), 0o600))))).toBe(
      'E_TOKEN_FILE',
    );
    expect(() => readTokenFile({ value: join(dir, 'missing'), from: 'INGOT_TOKEN_FILE' })).toThrow(
      /missing \(INGOT_TOKEN_FILE\): cannot be read \(ENOENT\)/,
    );
  });
});

describe('CA files', () => {
  it('must hold a PEM certificate (any mode: a certificate is public)', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(readCaFile(named(file('ca.pem', pem, 0o644)))).toBe(pem);
    expect(codeOf(() => readCaFile(named(file('not.pem', 'hello', 0o644))))).toBe('E_CA_FILE');
    expect(codeOf(() => readCaFile(named(join(dir, 'nope.pem'))))).toBe('E_CA_FILE');
  });
});
