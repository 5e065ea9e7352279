import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { DEFAULT_RUNTIME_RULES } from '../core/policy/runtime.js';
import { InToto, KeyError, type KeyId } from '../domain/attestation.js';
import type { Digest } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
import type { Policy } from '../domain/policy.js';
import type { TrustedKey } from '../core/attest/dsse.js';
import type { ReadSpecFile } from '../ports/spec-file.js';

export interface PolicyDeps {
  readonly readPublicKey: (path: string) => { id: KeyId; key: KeyObject };
  readonly parsePublicKey: (pem: string, where: string) => { id: KeyId; key: KeyObject };
  /** The digest a tag of an OCI layout points at now. */
  readonly resolveBase: (layoutDir: string, tag: string) => Promise<Digest>;
  /** How the policy file is read (adapters/shared/spec-file.ts). */
  readonly readSpecFile: ReadSpecFile;
  /** `$HOME` of the process loading the policy: what a key `file: ~/…` is under. */
  readonly userHome: string | undefined;
}

/**
 * Where a policy's key `file:` is: relative to the policy file, or, written `~/…`, under the
 * HOME of whoever loads the policy (as ssh and git read `~/`), so that a policy kept in a git
 * work tree can name a key kept out of it. Only `~/`: `~user` would name another account's
 * files, and is refused rather than read as a folder called "~user". Pure.
 */
export function policyKeyPath(
  file: string,
  policyDir: string,
  userHome: string | undefined,
): { readonly path: string } | { readonly problem: string } {
  if (file === '~' || file.startsWith('~/')) {
    if (userHome === undefined || !isAbsolute(userHome))
      return { problem: `${file} is under ~, but HOME is not set to an absolute folder` };
    return { path: join(userHome, file.slice(1)) };
  }
  if (file.startsWith('~'))
    return { problem: `${file}: only ~/ is expanded (to the HOME of whoever loads the policy)` };
  return { path: resolve(policyDir, file) };
}

/**
 * The one trust rule of a home: with neither a policy nor a key given, what is trusted is the
 * home's own key ($INGOT_HOME/keys/local.pub), which `ingot build` signs with by default. `ingot
 * up` admits deploys and starts under it, and `ingot verify` and `ingot pull` check under it, so
 * that what verify passes is what the home's server admits. Anything given replaces it.
 */
export function trustsHomeKey(options: {
  readonly policyFile?: string | undefined;
  readonly keyFiles?: readonly string[] | undefined;
}): boolean {
  return options.policyFile === undefined && (options.keyFiles ?? []).length === 0;
}

/** A policy ready for `evaluate`, with the public keys its signatures are checked with. */
export interface LoadedPolicy {
  readonly policy: Policy;
  readonly keys: readonly TrustedKey[];
}

/**
 * Load what `ingot verify` (and later deploy and the agent) trust: a policy file, plus
 * keys given on the command line. With keys alone the policy is the minimal one: one of
 * those keys must have signed SLSA provenance for the artifact.
 */
export async function loadTrust(
  deps: PolicyDeps,
  options: { readonly policyFile?: string; readonly keyFiles?: readonly string[] },
): Promise<LoadedPolicy> {
  const extra = (options.keyFiles ?? []).map((path) => ({
    name: basename(path).replace(/\.(pub|pem)$/, ''),
    ...deps.readPublicKey(path),
  }));
  if (options.policyFile === undefined) {
    if (extra.length === 0)
      throw new IngotError(
        'E_NO_TRUST',
        'nothing to verify against: give the trusted public key(s) with --key, or a --policy file',
      );
    const keys = uniqueKeys(extra);
    return {
      keys: keys.map(({ id, key }) => ({ id, key })),
      policy: {
        mode: 'enforce',
        threshold: 1,
        keys: keys.map(({ id, name }) => ({ id, name })),
        builders: null,
        sources: null,
        allowDirty: true,
        allowUntracked: true,
        bases: null,
        predicateTypes: [InToto.slsaProvenance],
        runtime: DEFAULT_RUNTIME_RULES,
      },
    };
  }

  // A policy file is YAML: its parser and the policy's schema load only when one is given
  // (`ingot pull --key` and friends do not compile them).
  const [{ parsePolicy, runtimeRules }, { MAX_SPEC_BYTES }] = await Promise.all([
    import('../core/policy/schema.js'),
    import('../core/yaml-spec.js'),
  ]);
  const file = resolve(options.policyFile);
  const bytes = deps.readSpecFile(file, options.policyFile, MAX_SPEC_BYTES, {
    notFound: 'E_POLICY_NOT_FOUND',
    tooLarge: 'E_POLICY_TOO_LARGE',
  });
  const spec = parsePolicy(bytes, options.policyFile);
  const dir = dirname(file);
  const listed = spec.keys.map((k, i) => {
    const where = `${options.policyFile}: keys[${i}] (${k.name})`;
    const loaded =
      k.file !== undefined
        ? deps.readPublicKey(keyFileOf(k.file, dir, deps.userHome, where))
        : deps.parsePublicKey(k.pem ?? '', where);
    if (k.id !== undefined && k.id !== loaded.id)
      throw new KeyError(
        'E_KEY_INVALID',
        `${where}: the key's id is ${loaded.id}, but the policy pins ${k.id}`,
      );
    return { name: k.name, ...loaded };
  });
  const twice = listed.find((k, i) => listed.findIndex((o) => o.id === k.id) !== i);
  if (twice)
    throw new IngotError(
      'E_POLICY_INVALID',
      `${options.policyFile}: keys: ${twice.name} is the same key as ${listed.find((o) => o.id === twice.id)!.name} (${twice.id}); a key counts once toward the threshold`,
    );
  const keys = uniqueKeys([...listed, ...extra]);

  let bases: Policy['bases'] = null;
  if (spec.bases) {
    const digests: Digest[] = [];
    let scratch = false;
    for (const b of spec.bases) {
      if (b === 'scratch') scratch = true;
      else if (typeof b === 'string') digests.push(b);
      else digests.push(await deps.resolveBase(resolve(dir, b.layout), b.tag));
    }
    bases = { digests, scratch };
  }
  return {
    keys: keys.map(({ id, key }) => ({ id, key })),
    policy: {
      mode: spec.mode,
      threshold: spec.threshold,
      keys: keys.map(({ id, name }) => ({ id, name })),
      builders: spec.builders ?? null,
      sources: spec.sources ?? null,
      allowDirty: spec.allowDirty,
      allowUntracked: spec.allowUntracked,
      bases,
      predicateTypes: spec.predicateTypes,
      runtime: runtimeRules(spec.runtime),
    },
  };
}

function keyFileOf(file: string, dir: string, userHome: string | undefined, where: string) {
  const found = policyKeyPath(file, dir, userHome);
  if ('problem' in found)
    throw new IngotError('E_POLICY_INVALID', `${where}: file: ${found.problem}`);
  return found.path;
}

/** The same key listed twice must not count twice toward a threshold. */
function uniqueKeys<K extends { id: KeyId; name: string }>(keys: readonly K[]): K[] {
  const seen = new Map<KeyId, K>();
  for (const k of keys) if (!seen.has(k.id)) seen.set(k.id, k);
  return [...seen.values()];
}
