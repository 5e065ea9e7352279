import type { Digest } from './digest.js';
import { IngotError, type CodesOf } from './errors.js';

export type RegistryErrorCode = CodesOf<'registry'>;

/** Errors of talking to an OCI distribution registry, and of what it answered. */
export class RegistryError extends IngotError<RegistryErrorCode> {
  constructor(
    code: RegistryErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    cause?: unknown,
  ) {
    super(code, message, { details, cause });
  }
}

/**
 * Where an image lives in a registry: `HOST[:PORT]/REPO[:TAG][@sha256:…]`. Unlike docker's
 * references the host is never implied: a name without one would silently mean Docker Hub.
 */
export interface RegistryReference {
  /** Host name or address as typed (an IPv6 address keeps its brackets), without the port. */
  readonly host: string;
  readonly port: number | null;
  readonly repository: string;
  readonly tag: string | null;
  readonly digest: Digest | null;
}

/** `host[:port]`, as URLs and credential files name a registry. */
export function registryAuthority(ref: Pick<RegistryReference, 'host' | 'port'>): string {
  return ref.port === null ? ref.host : `${ref.host}:${ref.port}`;
}

/** A user name and password for a registry (basic auth, or exchanged for a bearer token). */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}
