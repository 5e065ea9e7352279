import type { Command } from 'commander';
import type { Io, RegistryCliOptions } from './io.js';

/** What commander gives for the flags registryFlags declares. */
export interface RegistryFlags {
  plainHttp?: boolean;
  creds?: string;
  caFile?: string;
}

/**
 * `--plain-http`, `--creds`, `--ca-file`: how every command that talks to a registry (push,
 * pull, and build with a registry base) is told to reach it, declared once so they read alike.
 */
export function registryFlags(command: Command, what = 'registry'): Command {
  return command
    .option(
      '--plain-http',
      `speak plain HTTP to the ${what} (credentials and content travel in clear)`,
    )
    .option(
      '--creds <user:pass>',
      `${what} credentials (default: $REGISTRY_AUTH_FILE, else ~/.docker/config.json)`,
    )
    .option(
      '--ca-file <file>',
      `PEM of the CA(s) to trust for the ${what} instead of the system ones`,
    );
}

/** The flags as the composition root takes them, with where to find credential files. */
export function registryOptions(flags: RegistryFlags, io: Pick<Io, 'env'>): RegistryCliOptions {
  return {
    plainHttp: flags.plainHttp === true,
    ...(flags.creds !== undefined && { creds: flags.creds }),
    ...(flags.caFile !== undefined && { caFile: flags.caFile }),
    env: io.env,
  };
}
