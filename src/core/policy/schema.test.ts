import { describe, expect, it } from 'vitest';
import { InToto } from '../../domain/attestation.js';
import { SpecError } from '../yaml-spec.js';
import { parsePolicy } from './schema.js';

function problems(text: string): SpecError {
  try {
    parsePolicy(text, 'policy.yaml');
  } catch (err) {
    if (err instanceof SpecError) return err as SpecError;
    throw err;
  }
  throw new Error('expected the policy to be refused');
}

describe('policy.yaml', () => {
  it('fills in safe defaults', () => {
    expect(parsePolicy('keys: [{ name: ci, file: ci.pub }]\n', 'policy.yaml')).toEqual({
      mode: 'enforce',
      threshold: 1,
      keys: [{ name: 'ci', file: 'ci.pub' }],
      allowDirty: false,
      predicateTypes: [InToto.slsaProvenance],
    });
  });

  it('reads every rule', () => {
    const p = parsePolicy(
      [
        'mode: warn',
        'threshold: 2',
        'keys:',
        '  - { name: ci, file: ci.pub, id: ' + 'a'.repeat(64) + ' }',
        '  - name: release',
        '    pem: "-----BEGIN PUBLIC KEY-----"',
        'builders: [https://ci.example/builder]',
        'sources: ["https://github.com/acme/**"]',
        'allowDirty: true',
        'bases: [scratch, "sha256:' + 'b'.repeat(64) + '", { layout: ../base, tag: "1.0" }]',
      ].join('\n'),
      'policy.yaml',
    );
    expect(p.mode).toBe('warn');
    expect(p.bases).toEqual([
      'scratch',
      `sha256:${'b'.repeat(64)}`,
      { layout: '../base', tag: '1.0' },
    ]);
  });

  it('reports every problem at once, with its path and line', () => {
    const err = problems(
      [
        'mode: strict',
        'threshold: 3',
        'keys:',
        '  - { name: ci }',
        'bases: [latest]',
        'extra: 1',
      ].join('\n'),
    );
    expect(err.code).toBe('E_POLICY_INVALID');
    const paths = err.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['mode', 'keys[0]', 'bases[0]', 'extra']));
    expect(err.issues.find((i) => i.path === 'mode')?.line).toBe(1);
    expect(err.message).toContain('policy.yaml:');
  });

  it('refuses a threshold larger than the keys, duplicate names, and bad YAML', () => {
    expect(problems('threshold: 2\nkeys: [{ name: ci, file: a }]\n').issues[0]?.path).toBe(
      'threshold',
    );
    expect(problems('keys: [{ name: ci, file: a }, { name: ci, file: b }]\n').issues[0]?.path).toBe(
      'keys',
    );
    expect(problems('keys: [a\n').code).toBe('E_POLICY_SYNTAX');
    expect(problems('keys: []\n').issues[0]?.path).toBe('keys');
  });
});
