import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InToto } from '../../domain/attestation.js';
import type { Digest } from '../../domain/digest.js';
import type { Policy, RuntimeRules } from '../../domain/policy.js';
import { resolveUser } from '../runtime/user.js';
import { evaluate } from './evaluate.js';
import {
  BASELINE_CAPABILITIES,
  DEFAULT_RUNTIME_RULES,
  evaluateRuntime,
  LINUX_CAPABILITIES,
  runsAsRoot,
  type RuntimeRequest,
} from './runtime.js';

const request = (over: Partial<RuntimeRequest> = {}): RuntimeRequest => ({
  user: '65532:65532',
  capabilities: [],
  volumes: [],
  resources: { memoryBytes: 64 * 2 ** 20, cpus: 0.5, pids: 64 },
  ...over,
});
const rules = (over: Partial<RuntimeRules> = {}): RuntimeRules => ({
  ...DEFAULT_RUNTIME_RULES,
  ...over,
});
const codes = (r: RuntimeRules, q: RuntimeRequest) => evaluateRuntime(r, q).map((x) => x.code);

describe('evaluateRuntime(rules, request)', () => {
  it('by default refuses every capability that is root on the host without a user namespace', () => {
    for (const cap of [
      'CAP_SYS_ADMIN',
      'CAP_SYS_MODULE',
      'CAP_SYS_PTRACE',
      'CAP_NET_ADMIN',
      'CAP_SYS_RAWIO',
      'CAP_SYS_BOOT',
      'CAP_DAC_READ_SEARCH',
      'CAP_BPF',
      'CAP_PERFMON',
      'CAP_SYS_TIME',
      'CAP_MAC_ADMIN',
      'CAP_MAC_OVERRIDE',
      'CAP_NET_RAW',
      'CAP_LINUX_IMMUTABLE',
      'CAP_SYSLOG',
      'CAP_CHECKPOINT_RESTORE',
    ]) {
      const reasons = evaluateRuntime(DEFAULT_RUNTIME_RULES, request({ capabilities: [cap] }));
      expect(reasons.map((r) => r.code)).toEqual(['E_POLICY_CAPABILITY']);
      expect(reasons[0]!.message).toContain(cap);
      expect(reasons[0]!.message).toContain('runtime.allowedCapabilities');
    }
    // What the examples and Docker's defaults use is admitted, root included.
    expect(
      codes(
        DEFAULT_RUNTIME_RULES,
        request({ user: undefined, capabilities: BASELINE_CAPABILITIES }),
      ),
    ).toEqual([]);
  });

  it('the issue`s image: root with CAP_SYS_ADMIN and CAP_SYS_MODULE', () => {
    const asked = request({ user: '0:0', capabilities: ['CAP_SYS_MODULE', 'CAP_SYS_ADMIN'] });
    const reasons = evaluateRuntime(rules({ allowRoot: false }), asked);
    expect(reasons).toEqual([
      {
        code: 'E_POLICY_ROOT',
        message: `runs as root (User "0:0"), and the policy's runtime.allowRoot is false`,
      },
      {
        code: 'E_POLICY_CAPABILITY',
        message: expect.stringMatching(
          /^asks for CAP_SYS_ADMIN, CAP_SYS_MODULE, not in the policy's runtime\.allowedCapabilities \(CAP_AUDIT_WRITE, /,
        ) as string,
      },
    ]);
    // An explicit policy that allows it admits it.
    const open = rules({
      allowedCapabilities: [...BASELINE_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_MODULE'],
    });
    expect(codes(open, asked)).toEqual([]);
  });

  it('gives each broken rule its own code, naming the rule and the value', () => {
    const strict = rules({
      allowRoot: false,
      allowedCapabilities: [],
      maxMemoryBytes: 128 * 2 ** 20,
      maxCpus: 1,
      maxPids: 100,
      allowVolumes: false,
    });
    const over = evaluateRuntime(
      strict,
      request({
        user: 'app',
        capabilities: ['CAP_NET_BIND_SERVICE'],
        volumes: ['data'],
        resources: { memoryBytes: 2 ** 30, cpus: 2, pids: 1000 },
      }),
    );
    expect(Object.fromEntries(over.map((r) => [r.code, r.message]))).toEqual({
      E_POLICY_ROOT: expect.stringContaining('"app", a name that could be root') as string,
      E_POLICY_CAPABILITY: `asks for CAP_NET_BIND_SERVICE, not in the policy's runtime.allowedCapabilities (none)`,
      E_POLICY_VOLUME: `declares volume(s) data, and the policy's runtime.allowVolumes is false`,
      E_POLICY_MEMORY: `resources.memory is 1Gi, above the policy's runtime.maxMemory of 128Mi`,
      E_POLICY_CPUS: `resources.cpus is 2, above the policy's runtime.maxCpus of 1`,
      E_POLICY_PIDS: `resources.pids is 1000, above the policy's runtime.maxPids of 100`,
    });
    // A limit the fleet leaves out is no limit: over any ceiling.
    expect(evaluateRuntime(strict, request({ resources: {} })).map((r) => r.message)).toEqual([
      `the fleet sets no resources.memory (unlimited); the policy's runtime.maxMemory is 128Mi: set resources.memory to at most that`,
      `the fleet sets no resources.cpus (unlimited); the policy's runtime.maxCpus is 1: set resources.cpus to at most that`,
      `the fleet sets no resources.pids (unlimited); the policy's runtime.maxPids is 100: set resources.pids to at most that`,
    ]);
    // Where no fleet is known (`ingot verify`), only what the image itself asks is judged.
    expect(codes(strict, request({ resources: null }))).toEqual([]);
  });

  const cap = fc.constantFrom(...LINUX_CAPABILITIES, 'CAP_NOT_A_THING');
  const anyRules: fc.Arbitrary<RuntimeRules> = fc.record({
    allowRoot: fc.boolean(),
    allowedCapabilities: fc.uniqueArray(cap, { maxLength: 8 }),
    maxMemoryBytes: fc.option(fc.integer({ min: 1, max: 2 ** 34 })),
    maxCpus: fc.option(fc.double({ min: 0.01, max: 64, noNaN: true })),
    maxPids: fc.option(fc.integer({ min: 1, max: 1 << 22 })),
    allowVolumes: fc.boolean(),
  });
  const anyRequest: fc.Arbitrary<RuntimeRequest> = fc.record({
    user: fc.option(
      fc.constantFrom('', '0', '0:0', 'root', '1000', '1000:0', 'app', 'app:app', '00'),
      {
        nil: undefined,
      },
    ),
    capabilities: fc.array(cap, { maxLength: 6 }),
    volumes: fc.array(fc.constantFrom('data', 'cache'), { maxLength: 2 }),
    resources: fc.option(
      fc.record(
        {
          memoryBytes: fc.integer({ min: 1, max: 2 ** 34 }),
          cpus: fc.double({ min: 0.01, max: 64, noNaN: true }),
          pids: fc.integer({ min: 1, max: 1 << 22 }),
        },
        { requiredKeys: [] },
      ),
    ),
  });

  it('refuses a capability exactly when the rules do not list it', () => {
    fc.assert(
      fc.property(anyRules, anyRequest, (r, q) => {
        const outside = q.capabilities.some((c) => !r.allowedCapabilities.includes(c));
        expect(codes(r, q).includes('E_POLICY_CAPABILITY')).toBe(outside);
      }),
    );
  });

  it('stricter rules never admit what looser ones refuse', () => {
    fc.assert(
      fc.property(anyRules, anyRequest, fc.nat(), (r, q, seed) => {
        if (evaluateRuntime(r, q).length === 0) return;
        const stricter: RuntimeRules = {
          allowRoot: r.allowRoot && seed % 2 === 0,
          allowedCapabilities: r.allowedCapabilities.filter((_, i) => (seed >> i) % 2 === 0),
          maxMemoryBytes: r.maxMemoryBytes === null ? null : Math.ceil(r.maxMemoryBytes / 2),
          maxCpus: r.maxCpus === null ? null : r.maxCpus / 2,
          maxPids: r.maxPids === null ? null : Math.ceil(r.maxPids / 2),
          allowVolumes: r.allowVolumes && seed % 3 !== 0,
        };
        expect(evaluateRuntime(stricter, q).length).toBeGreaterThan(0);
      }),
    );
  });

  it('asking for less never turns a refusal into an admission, nor more an admission into one', () => {
    fc.assert(
      fc.property(anyRules, anyRequest, fc.nat(), (r, q, seed) => {
        const less: RuntimeRequest = {
          ...q,
          capabilities: q.capabilities.filter((_, i) => (seed >> i) % 2 === 0),
          volumes: q.volumes.filter((_, i) => (seed >> (i + 8)) % 2 === 0),
        };
        if (evaluateRuntime(r, less).length > 0)
          expect(evaluateRuntime(r, q).length).toBeGreaterThan(0);
      }),
    );
  });

  it('in the whole decision: runtime reasons refuse in enforce mode, and only warn in warn mode', () => {
    fc.assert(
      fc.property(
        anyRules,
        anyRequest,
        fc.constantFrom<'enforce' | 'warn'>('enforce', 'warn'),
        (r, q, mode) => {
          const policy: Policy = {
            mode,
            threshold: 1,
            keys: [{ name: 'ci', id: '1'.padStart(64, '0') }],
            builders: null,
            sources: null,
            allowDirty: true,
            allowUntracked: true,
            bases: null,
            predicateTypes: [],
            runtime: r,
          };
          const verdict = {
            status: 'verified' as const,
            keyId: '1'.padStart(64, '0'),
            statement: { subjects: [], predicateType: InToto.slsaProvenance, provenance: null },
          };
          const d = evaluate(policy, {
            subject: `sha256:${'1'.repeat(64)}` as Digest,
            signatures: [verdict],
            runtime: q,
          });
          expect(d.reasons).toEqual(evaluateRuntime(r, q));
          expect(d.allowed).toBe(mode === 'warn' || d.reasons.length === 0);
        },
      ),
    );
  });
});

describe('runsAsRoot(user)', () => {
  it('reads root from the User string alone', () => {
    expect(
      [undefined, '', '0', '0:0', '0:1000', 'root', 'root:app', '000'].map(runsAsRoot),
    ).toEqual(Array(8).fill('root'));
    expect(['1000', '65532:65532', '1000:0'].map(runsAsRoot)).toEqual(Array(3).fill('not-root'));
    expect(['app', 'app:0', 'nobody'].map(runsAsRoot)).toEqual(Array(3).fill('unknown'));
  });

  it('never says "not root" of a user the host resolves to uid 0, whatever /etc/passwd says', () => {
    const name = fc.constantFrom('root', 'app', 'nobody', 'toor');
    const passwd = fc
      .array(fc.tuple(name, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), {
        maxLength: 4,
      })
      .map((rows) => rows.map(([n, u, g]) => `${n}:x:${u}:${g}::/:/bin/sh`).join('\n'));
    const user = fc.oneof(
      name,
      fc.integer({ min: 0, max: 3 }).map(String),
      fc.tuple(fc.oneof(name, fc.nat(3).map(String)), fc.nat(3)).map(([u, g]) => `${u}:${g}`),
      fc.constant(''),
    );
    fc.assert(
      fc.property(user, passwd, (u, pw) => {
        const resolved = resolveUser(u, pw, '');
        if (resolved.ok && resolved.uid === 0) expect(runsAsRoot(u)).not.toBe('not-root');
        if (runsAsRoot(u) === 'root' && resolved.ok)
          expect(resolved.uid === 0 || u.startsWith('root')).toBe(true);
      }),
    );
  });
});
