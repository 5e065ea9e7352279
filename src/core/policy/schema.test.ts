import { describe, expect, it } from 'vitest';
import { InToto } from '../../domain/attestation.js';
import { SpecError } from '../yaml-spec.js';
import { DEFAULT_RUNTIME_RULES } from './runtime.js';
import { parsePolicy, runtimeRules } from './schema.js';

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
      allowUntracked: false,
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

  it('reads the runtime rules over safe defaults; a capability may drop its CAP_ prefix', () => {
    expect(runtimeRules(parsePolicy('keys: [{ name: ci, file: a }]\n', 'p').runtime)).toEqual(
      DEFAULT_RUNTIME_RULES,
    );
    const p = parsePolicy(
      [
        'keys: [{ name: ci, file: a }]',
        'runtime:',
        '  allowRoot: false',
        '  allowedCapabilities: [net_bind_service, CAP_CHOWN, NET_BIND_SERVICE]',
        '  maxMemory: 512Mi',
        '  maxCpus: 2',
        '  maxPids: 256',
        '  allowVolumes: false',
      ].join('\n'),
      'policy.yaml',
    );
    expect(runtimeRules(p.runtime)).toEqual({
      allowRoot: false,
      allowedCapabilities: ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE'],
      maxMemoryBytes: 512 * 2 ** 20,
      maxCpus: 2,
      maxPids: 256,
      allowVolumes: false,
    });
    // Leaving a field out keeps its default, not the most permissive value.
    expect(
      runtimeRules(
        parsePolicy('keys: [{ name: ci, file: a }]\nruntime: { maxPids: 9 }\n', 'p').runtime,
      ),
    ).toEqual({ ...DEFAULT_RUNTIME_RULES, maxPids: 9 });
  });

  it('refuses a capability Linux does not have, a bad size and unknown runtime keys', () => {
    const err = problems(
      [
        'keys: [{ name: ci, file: a }]',
        'runtime:',
        '  allowedCapabilities: [CAP_NET_BIND_SERIVCE]',
        '  maxMemory: lots',
        '  maxCpus: 0',
        '  privileged: true',
      ].join('\n'),
    );
    expect(err.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        'runtime.allowedCapabilities[0]',
        'runtime.maxMemory',
        'runtime.maxCpus',
        'runtime.privileged',
      ]),
    );
  });
});
