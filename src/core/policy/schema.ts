import * as z from 'zod';
import { InToto } from '../../domain/attestation.js';
import { isDigest } from '../../domain/digest.js';
import type { RuntimeRules } from '../../domain/policy.js';
import { parseSize } from '../baseline/units.js';
import { parseYamlSpec, type SpecCodes } from '../yaml-spec.js';
import { DEFAULT_RUNTIME_RULES, LINUX_CAPABILITIES } from './runtime.js';

export type PolicySpecErrorCode =
  'E_POLICY_SYNTAX' | 'E_POLICY_INVALID' | 'E_POLICY_TOO_LARGE' | 'E_POLICY_ENCODING';

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a name of letters, digits, ".", "_", "-"');

const key = z
  .strictObject({
    name,
    /** A public key PEM file, relative to the policy file, or `~/…` under the loader's HOME. */
    file: z.string().min(1).max(4096).optional(),
    /** The public key PEM itself. */
    pem: z.string().min(1).max(16_384).optional(),
    /** Pins the key: loading fails if the file or PEM holds another key. */
    id: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'a key id: 64 lowercase hex digits (`ingot key generate` prints it)')
      .optional(),
  })
  .refine((k) => (k.file === undefined) !== (k.pem === undefined), {
    message: 'give exactly one of `file` or `pem`',
  });

const base = z.union([
  z.literal('scratch'),
  z.string().refine(isDigest, 'a digest (sha256:<64 hex digits>) or "scratch"'),
  z.strictObject({
    /** An OCI layout folder, relative to the policy file. */
    layout: z.string().min(1).max(4096),
    /** Resolved to a digest when the policy is loaded: later moves of the tag do not count. */
    tag: z.string().min(1).max(256),
  }),
]);

/** "NET_BIND_SERVICE" or "CAP_NET_BIND_SERVICE", any case; a typo is refused, not ignored. */
const capability = z
  .string()
  .max(64)
  .transform((c) =>
    c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`,
  )
  .refine(
    (c) => (LINUX_CAPABILITIES as readonly string[]).includes(c),
    'a Linux capability such as CAP_NET_BIND_SERVICE',
  );

const size = z.union([z.string(), z.number()]).transform((raw, ctx) => {
  const bytes = parseSize(raw);
  if (bytes === null) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a size such as "512Mi", got ${JSON.stringify(raw)}`,
    });
    return z.NEVER;
  }
  return bytes;
});

/** What admitted artifacts may do when they run; each field left out keeps its default. */
const runtime = z.strictObject({
  allowRoot: z.boolean().optional(),
  allowedCapabilities: z.array(capability).max(64).optional(),
  maxMemory: size.optional(),
  maxCpus: z.number().positive().max(1024).optional(),
  maxPids: z.number().int().min(1).max(4_194_304).optional(),
  allowVolumes: z.boolean().optional(),
});

export const policySchema = z
  .strictObject({
    mode: z.enum(['enforce', 'warn']).default('enforce'),
    threshold: z.number().int().min(1).max(64).default(1),
    keys: z.array(key).min(1, 'at least one trusted key').max(64),
    builders: z.array(z.string().min(1).max(4096)).max(256).optional(),
    sources: z.array(z.string().min(1).max(4096)).max(256).optional(),
    allowDirty: z.boolean().default(false),
    allowUntracked: z.boolean().default(false),
    bases: z.array(base).max(1024).optional(),
    predicateTypes: z.array(z.string().min(1).max(4096)).max(64).default([InToto.slsaProvenance]),
    runtime: runtime.optional(),
  })
  .refine((p) => p.threshold <= p.keys.length, {
    message: 'threshold is larger than the number of trusted keys',
    path: ['threshold'],
  })
  .refine((p) => new Set(p.keys.map((k) => k.name)).size === p.keys.length, {
    message: 'key names must be unique',
    path: ['keys'],
  });

export type PolicySpec = z.output<typeof policySchema>;

const codes: SpecCodes<PolicySpecErrorCode> = {
  syntax: 'E_POLICY_SYNTAX',
  invalid: 'E_POLICY_INVALID',
  tooLarge: 'E_POLICY_TOO_LARGE',
  encoding: 'E_POLICY_ENCODING',
};

/** policy.yaml text → a validated spec; keys and base tags are resolved by the caller. */
export function parsePolicy(source: string | Uint8Array, file: string): PolicySpec {
  return parseYamlSpec(policySchema, source, file, codes);
}

/** The `runtime:` section over the defaults (core/policy/runtime.ts). */
export function runtimeRules(spec: PolicySpec['runtime']): RuntimeRules {
  const d = DEFAULT_RUNTIME_RULES;
  return {
    allowRoot: spec?.allowRoot ?? d.allowRoot,
    allowedCapabilities: spec?.allowedCapabilities
      ? [...new Set(spec.allowedCapabilities)].sort()
      : d.allowedCapabilities,
    maxMemoryBytes: spec?.maxMemory ?? d.maxMemoryBytes,
    maxCpus: spec?.maxCpus ?? d.maxCpus,
    maxPids: spec?.maxPids ?? d.maxPids,
    allowVolumes: spec?.allowVolumes ?? d.allowVolumes,
  };
}
