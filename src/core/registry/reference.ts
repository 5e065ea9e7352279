import { parseDigest, type Digest } from '../../domain/digest.js';
import { RegistryError, registryAuthority, type RegistryReference } from '../../domain/registry.js';

/** Distribution spec, "Pulling manifests": `<name>` path components. */
const REPO_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
/** Distribution spec: `<reference>` as a tag. */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** A DNS label as docker's reference grammar allows it (letters, digits, inner hyphens). */
const HOST_LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6 = /^\[[0-9a-fA-F:.]+(?:%[a-zA-Z0-9]+)?\]$/;
/** Clients should keep `<host>/<name>` under 255 characters (distribution spec). */
const MAX_NAME = 255;
/** Bound on what we even look at: a reference is typed or comes from a file. */
const MAX_REFERENCE = 512;

export function isValidRepository(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= MAX_NAME &&
    name.split('/').every((c) => REPO_COMPONENT.test(c))
  );
}

export function isValidRegistryTag(tag: string): boolean {
  return TAG.test(tag);
}

export function checkRegistryTag(tag: string): string {
  if (!isValidRegistryTag(tag))
    throw new RegistryError(
      'E_REGISTRY_TAG_INVALID',
      `tag ${JSON.stringify(tag.slice(0, 200))} is not valid in a registry: up to 128 letters, digits, _ . and -, not starting with . or -`,
      { tag: tag.slice(0, 200) },
    );
  return tag;
}

function parseHost(authority: string, input: string): { host: string; port: number | null } {
  const portMatch = /^(.*):([0-9]+)$/.exec(authority);
  const host = portMatch ? portMatch[1]! : authority;
  let port: number | null = null;
  if (portMatch) {
    port = Number(portMatch[2]);
    if (portMatch[2]!.length > 5 || port < 1 || port > 65535)
      throw hostError(input, `port ${portMatch[2]} is not between 1 and 65535`);
  }
  const ok =
    IPV6.test(host) || (host.length <= 253 && host.split('.').every((l) => HOST_LABEL.test(l)));
  if (!ok)
    throw hostError(input, `${JSON.stringify(host.slice(0, 100))} is not a host name or address`);
  return { host, port };
}

function hostError(input: string, why: string): RegistryError {
  return new RegistryError(
    'E_REGISTRY_HOST_INVALID',
    `registry reference ${JSON.stringify(input)}: ${why}`,
    {
      ref: input,
    },
  );
}

/**
 * Parse `HOST[:PORT]/REPO[:TAG][@sha256:…]`. The host is always the first path component
 * (no Docker Hub default), the tag is after the last `:` of the last component, a digest
 * after `@`. Every part is checked against the distribution spec's grammar, each with its
 * own code, so that a typo is reported as what it is.
 */
export function parseReference(input: string): RegistryReference {
  const shown = input.slice(0, 200);
  if (input.length > MAX_REFERENCE)
    throw new RegistryError(
      'E_REGISTRY_REF_INVALID',
      `registry reference is longer than ${MAX_REFERENCE} characters`,
      {
        ref: shown,
      },
    );
  const at = input.indexOf('@');
  let digest: Digest | null = null;
  let rest = input;
  if (at >= 0) {
    digest = parseDigest(input.slice(at + 1), `registry reference ${JSON.stringify(shown)}`);
    rest = input.slice(0, at);
  }
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1)
    throw new RegistryError(
      'E_REGISTRY_REF_INVALID',
      `registry reference ${JSON.stringify(shown)} is not HOST[:PORT]/REPO[:TAG] or HOST[:PORT]/REPO@sha256:…`,
      { ref: shown },
    );
  const { host, port } = parseHost(rest.slice(0, slash), shown);
  let path = rest.slice(slash + 1);
  let tag: string | null = null;
  const lastSlash = path.lastIndexOf('/');
  const colon = path.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = checkRegistryTag(path.slice(colon + 1));
    path = path.slice(0, colon);
  }
  if (
    !isValidRepository(path) ||
    registryAuthority({ host, port }).length + 1 + path.length > MAX_NAME
  )
    throw new RegistryError(
      'E_REGISTRY_REPO_INVALID',
      `repository ${JSON.stringify(path.slice(0, 200))} is not valid: lowercase letters and digits, separated by . _ __ - or /, at most ${MAX_NAME} characters with the host`,
      { ref: shown, repository: path.slice(0, 200) },
    );
  return { host, port, repository: path, tag, digest };
}

/** The reference as a user would type it; `parseReference` reads it back unchanged. */
export function formatReference(ref: RegistryReference): string {
  return `${registryAuthority(ref)}/${ref.repository}${ref.tag === null ? '' : `:${ref.tag}`}${ref.digest === null ? '' : `@${ref.digest}`}`;
}

/**
 * A fleet's `artifact` read as a registry image, or null for a local tag: its first
 * component is a host as Docker tells them apart (a `.` or a `:` in it, or `localhost`), and
 * the whole parses as a reference. A local tag such as `hello:1.0` or `team/hello:1.0` is not
 * one; a store tag spelled like a reference (what `ingot pull` leaves) is read as the
 * reference, so deploy asks the registry what it names now.
 */
export function registryReferenceOf(input: string): RegistryReference | null {
  const slash = input.indexOf('/');
  if (slash <= 0) return null;
  const first = input.slice(0, slash);
  if (!(first.includes('.') || first.includes(':') || first === 'localhost')) return null;
  try {
    return parseReference(input);
  } catch {
    return null;
  }
}

export function isRegistryReference(input: string): boolean {
  return registryReferenceOf(input) !== null;
}

/** The reference by digest alone, as a host pulls it: the tag may have moved since. */
export function pinnedReference(ref: RegistryReference, digest: Digest): string {
  return formatReference({ ...ref, tag: null, digest });
}
