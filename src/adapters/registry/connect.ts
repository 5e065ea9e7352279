import { readFileSync } from 'node:fs';
import { parseCredsFlag } from '../../core/registry/credentials.js';
import { RegistryError, registryAuthority, type RegistryReference } from '../../domain/registry.js';
import type { Registry } from '../../ports/registry.js';
import { DistributionRegistry } from './client.js';
import { readAuthFile } from './credentials-file.js';

export interface ConnectOptions {
  readonly plainHttp: boolean;
  /** `USER:PASS` from the command line: wins over any file. */
  readonly creds?: string;
  readonly caFile?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * A client for the registry a reference names, with credentials found as the container
 * tools find them (`--creds`, then $REGISTRY_AUTH_FILE, then ~/.docker/config.json) and
 * TLS trusting `--ca-file` when given.
 */
export function connectRegistry(ref: RegistryReference, options: ConnectOptions): Registry {
  const authority = registryAuthority(ref);
  const credentials =
    options.creds !== undefined
      ? parseCredsFlag(options.creds)
      : readAuthFile(authority, options.env);
  let ca: Buffer | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = readFileSync(options.caFile);
    } catch (err) {
      throw new RegistryError(
        'E_REGISTRY_CONNECT',
        `cannot read the CA file ${options.caFile}: ${(err as Error).message}`,
        {
          file: options.caFile,
        },
      );
    }
  }
  return new DistributionRegistry({
    authority,
    plainHttp: options.plainHttp,
    credentials,
    ...(ca !== undefined && { ca }),
  });
}
