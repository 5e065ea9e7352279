import { join } from 'node:path';
import { parseServerUrls, type ServerUrl } from '../core/api/server-url.js';
import { UsageError } from '../domain/errors.js';
import type { CurrentContext } from './contexts-file.js';

/**
 * How the user said to reach the API, unchecked: the global flags, the environment, the
 * current context and the home. Commands carry it and check it only when they call the API,
 * so a command that works offline (build, verify, key) never fails over a malformed
 * `INGOT_SERVER` or context file.
 */
export interface ApiSettings {
  readonly home: string;
  readonly flags: {
    readonly server?: string;
    readonly tokenFile?: string;
    readonly caFile?: string;
  };
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * The context file's current context (`ingot context use`), read only when neither the flag
   * nor the environment names a server; absent or null: none.
   */
  readonly context?: () => CurrentContext | null;
}

/** Where a setting came from, as messages name it: the flag, or the environment variable. */
export interface Named {
  readonly value: string;
  readonly from: string;
}

/**
 * Where the API is: the server this home runs (`$INGOT_HOME/server.json`, its token in the
 * home), or a server named by URL with a token file of its own.
 */
export type ApiTarget =
  | { readonly kind: 'home'; readonly home: string }
  | {
      readonly kind: 'url';
      /** `http(s)://host:port[/prefix]`, what messages name. */
      readonly base: string;
      readonly tls: boolean;
      /** As a socket takes it: an IPv6 address without its brackets. */
      readonly host: string;
      readonly port: number;
      /** A path the API is served under (behind a proxy); '' for none. */
      readonly prefix: string;
      /** The cluster's other servers named with it (`URL,URL`), tried in turn when it is down. */
      readonly others: readonly ServerUrl[];
      readonly server: Named;
      readonly tokenFile: Named;
      readonly caFile?: Named;
    };

/** The ways to a server, as every "none found" message names them. */
export const WAYS_TO_A_SERVER =
  'start one here with `ingot up --detach`, name one with --server URL or INGOT_SERVER (its token with --token-file FILE or INGOT_TOKEN_FILE), or make a context current with `ingot context use NAME`';

/** A flag, else its environment variable; an empty value is no value (`INGOT_SERVER= ingot …`). */
function pick(
  flag: string | undefined,
  flagName: string,
  env: string | undefined,
  envName: string,
) {
  if (flag !== undefined && flag !== '') return { value: flag, from: flagName };
  if (env !== undefined && env !== '') return { value: env, from: envName };
  return undefined;
}

/**
 * Where the API is: the flag, else the environment, else the current context, else the home.
 * Pure: files are read by the caller (the context through `settings.context`). Throws a usage
 * error (exit 2) for settings that cannot go together, such as a token file without a server
 * (it would be sent to whatever server the context or the home's server.json names).
 */
export function resolveTarget(settings: ApiSettings): ApiTarget {
  const { flags, env } = settings;
  const server = pick(flags.server, '--server', env['INGOT_SERVER'], 'INGOT_SERVER');
  const tokenFile = pick(
    flags.tokenFile,
    '--token-file',
    env['INGOT_TOKEN_FILE'],
    'INGOT_TOKEN_FILE',
  );
  const caFile = pick(flags.caFile, '--server-ca-file', env['INGOT_CA_FILE'], 'INGOT_CA_FILE');
  if (!server) {
    const stray = tokenFile ?? caFile;
    if (stray)
      throw new UsageError(
        `${stray.from} is for a server named by --server or INGOT_SERVER, and none is: name the server, or unset ${stray.from} to use the current context or this home's server (${join(settings.home, 'server.json')})`,
      );
    const context = settings.context?.() ?? null;
    return context ? contextTarget(context) : { kind: 'home', home: settings.home };
  }
  const url = serverUrl(server);
  if (!tokenFile)
    throw new UsageError(
      `${server.from} names ${url.base}, but no token for it: give --token-file FILE or INGOT_TOKEN_FILE (a file only you can read, as \`ingot up\` writes $INGOT_HOME/token)`,
    );
  if (caFile && !url.tls)
    throw new UsageError(
      `${caFile.from} is for https, but ${server.from} is ${url.base}: use https://, or unset ${caFile.from}`,
    );
  return { kind: 'url', ...url, server, tokenFile, ...(caFile && { caFile }) };
}

/** The current context's server, each setting named as coming from it (the file checked it). */
function contextTarget(context: CurrentContext): ApiTarget {
  const from = `the context ${JSON.stringify(context.name)} of ${context.file}`;
  const named = (value: string): Named => ({ value, from });
  return {
    kind: 'url',
    ...serverUrl(named(context.server)),
    server: named(context.server),
    tokenFile: named(context.tokenFile),
    ...(context.caFile !== undefined && { caFile: named(context.caFile) }),
  };
}

/** The server's URL (the first named) and the others, or a usage error naming where they came from. */
function serverUrl(server: Named): ServerUrl & { readonly others: readonly ServerUrl[] } {
  const urls = parseServerUrls(server.value);
  if ('problem' in urls)
    throw new UsageError(
      `${server.from} must be http://HOST[:PORT] or https://HOST[:PORT], or several separated by commas (${urls.problem}), got ${JSON.stringify(server.value.slice(0, 200))}`,
    );
  const [first, ...others] = urls;
  return { ...first, others };
}

/**
 * This home's own server, whatever the environment names: for what concerns the server of
 * this machine alone (`ingot up --detach` checking the child it started).
 */
export function homeApi(home: string): ApiSettings {
  return { home, flags: {}, env: {} };
}
