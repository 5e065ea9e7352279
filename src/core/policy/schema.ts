import { z } from 'zod';
import { InToto } from '../../domain/attestation.js';
import { isDigest } from '../../domain/digest.js';
import { parseYamlSpec, type SpecCodes } from '../yaml-spec.js';

export type PolicySpecErrorCode =
  'E_POLICY_SYNTAX' | 'E_POLICY_INVALID' | 'E_POLICY_TOO_LARGE' | 'E_POLICY_ENCODING';

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a name of letters, digits, ".", "_", "-"');

const key = z
  .strictObject({
    name,
    /** A public key PEM file, relative to the policy file. */
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

export const policySchema = z
  .strictObject({
    mode: z.enum(['enforce', 'warn']).default('enforce'),
    threshold: z.number().int().min(1).max(64).default(1),
    keys: z.array(key).min(1, 'at least one trusted key').max(64),
    builders: z.array(z.string().min(1).max(4096)).max(256).optional(),
    sources: z.array(z.string().min(1).max(4096)).max(256).optional(),
    allowDirty: z.boolean().default(false),
    bases: z.array(base).max(1024).optional(),
    predicateTypes: z.array(z.string().min(1).max(4096)).max(64).default([InToto.slsaProvenance]),
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
