import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { OciLayoutStore } from '../adapters/oci-layout/store.js';
import { FileBlobLocations } from '../adapters/registry/blob-locations.js';
import type { ConnectOptions } from '../adapters/registry/connect.js';
import type { CliApp } from '../cli/io.js';
import { formatReference, parseReference } from '../core/registry/reference.js';
import { registryAuthority, RegistryError, type RegistryReference } from '../domain/registry.js';
import type { Registry } from '../ports/registry.js';
import type { LoadedPolicy } from '../services/policy.js';
import type { PullReport } from '../services/registry/pull.js';
import { pushImage } from '../services/registry/push.js';

/** `ingot push` and `ingot pull`, wired to the store and the registry client. */
export function registryCommands(
  openStore: () => Promise<OciLayoutStore>,
): Pick<CliApp, 'push' | 'pull'> {
  return {
    async push(ref, destination, options) {
      baselineWebAssemblyOnly();
      const dest = parseReference(destination);
      if (dest.digest !== null)
        throw new RegistryError(
          'E_REGISTRY_REF_INVALID',
          `push to ${destination}: name a tag or nothing, not a digest (the registry names the content)`,
        );
      return withRegistry(dest, options, async (registry) => {
        const store = await openStore();
        return pushImage({ store, registry, locations: locationsOf(store) }, { ref, dest });
      });
    },
    async pull(source, options) {
      baselineWebAssemblyOnly();
      const src = parseReference(source);
      const store = await openStore();
      return pullInto(store, src, {
        connect: options,
        trust: options.trust,
        ...(options.tag !== undefined && { tag: options.tag }),
      });
    },
  };
}

let baselineOnly = false;

/**
 * undici parses HTTP/1.1 with llhttp, compiled to WebAssembly when its first connection opens.
 * V8 compiles it with its baseline compiler (Liftoff), then again with TurboFan on a
 * background thread once the parser is hot: for llhttp's one large state machine that is
 * about 0.45 s of CPU on this project's 2-core machines (a fifth of a pull's), more than a
 * whole pull spends in the parser, taken from the transfer beside it and holding up the exit
 * until it is done. Baseline code is enough here: it parses status lines and headers, and
 * hands bodies on in spans.
 *
 * Set once, by the CLI's push and pull alone, before their first connection: V8's flags are
 * process-wide and meant to be set at start-up (changing them later is undefined behaviour
 * by V8's own word), which a command that ends with its transfer comes close to. Not in the
 * server or an agent (registryPuller), which run for weeks: there the one-time compile cost
 * does not matter, and the risk would.
 */
function baselineWebAssemblyOnly(): void {
  if (baselineOnly) return;
  baselineOnly = true;
  setFlagsFromString('--liftoff-only');
}

/**
 * How a long-running process (the server, an agent) reaches registries: like Docker's
 * daemon, plain HTTP only for the registries named, else TLS against the system CAs or the
 * given file; credentials from $REGISTRY_AUTH_FILE, then ~/.docker/config.json.
 */
export interface RegistryAccess {
  /** `HOST[:PORT]` of registries spoken to in plain HTTP (`ingot up --insecure-registry`). */
  readonly insecure: readonly string[];
  readonly caFile?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Pull a registry reference into `store` with its attachments, admitted under `trust`
 * before any layer is fetched (as `ingot pull`); by default tagged as typed, without a digest.
 */
export function registryPuller(
  store: OciLayoutStore,
  access: RegistryAccess,
  trust: () => Promise<LoadedPolicy>,
): (reference: string) => Promise<PullReport> {
  return async (reference) => {
    const src = parseReference(reference);
    return pullInto(store, src, {
      connect: {
        plainHttp: access.insecure.includes(registryAuthority(src)),
        ...(access.caFile !== undefined && { caFile: access.caFile }),
        env: access.env,
      },
      trust: await trust(),
    });
  };
}

async function pullInto(
  store: OciLayoutStore,
  src: RegistryReference,
  options: { connect: ConnectOptions; trust: LoadedPolicy; tag?: string },
): Promise<PullReport> {
  const tag = options.tag ?? (src.tag === null ? null : formatReference({ ...src, digest: null }));
  // Admission's code (Sigstore's verifier among it) is a pull's alone: a push does not load it.
  const [{ pullImage }, { verifyArtifact }] = await Promise.all([
    import('../services/registry/pull.js'),
    import('../services/verify.js'),
  ]);
  return withRegistry(src, options.connect, (registry) =>
    pullImage(
      {
        store,
        registry,
        verify: (documents, digest) =>
          verifyArtifact(documents, {
            ref: digest,
            policy: options.trust.policy,
            keys: options.trust.keys,
            rehash: false,
            resources: null,
          }),
        now: () => new Date(),
        locations: locationsOf(store),
      },
      { src, tag },
    ),
  );
}

/**
 * A client lives for one command or one pull: the connections it keeps alive are closed
 * when it ends, however it ends.
 */
async function withRegistry<T>(
  ref: RegistryReference,
  options: ConnectOptions,
  use: (registry: Registry) => Promise<T>,
): Promise<T> {
  // Loaded by what talks to a registry only: the HTTP client (undici) is about 1 MB of
  // JavaScript that every other command would parse at start-up for nothing.
  const { connectRegistry } = await import('../adapters/registry/connect.js');
  const registry = connectRegistry(ref, options);
  try {
    return await use(registry);
  } finally {
    await registry.close();
  }
}

/** Kept beside the store (Ingot's own folder in it), private like the rest of the home. */
export function locationsOf(store: OciLayoutStore): FileBlobLocations {
  return new FileBlobLocations(join(store.root, '.ingot', 'registry-blobs.json'));
}
