import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { LayoutBaseImages } from '../adapters/base-image/index.js';
import { describeGit } from '../adapters/git/describe.js';
import { makeHome } from '../adapters/home/private-home.js';
import { loadSigner } from '../adapters/keys/key-files.js';
import { cacheSecret } from '../adapters/keys/cache-secret.js';
import { localSigningKey } from '../adapters/keys/local-keys.js';
import { ParallelLayerEncoder } from '../adapters/layer-encoder/encoder.js';
import { OciLayoutStore } from '../adapters/oci-layout/store.js';
import { pathKind } from '../adapters/shared/path-kind.js';
import { readSpecFile } from '../adapters/shared/spec-file.js';
import { walkSource } from '../adapters/source/walk.js';
import type { RegistryCliOptions } from '../cli/io.js';
import {
  build,
  type BuildDeps,
  type BuildRequest,
  type BuildResult,
  type RegistryBases,
} from '../services/build/index.js';
import { rebuildCheck, type RebuildReport, type RebuildRequest } from '../services/rebuild.js';
import type { AppOptions } from './app.js';
import { locationsOf } from './registry-app.js';

/**
 * `ingot build` and `ingot rebuild`, wired: the layer encoder and its workers, the source
 * walker, base images, git. Loaded only by the commands that build (the composition root
 * imports it on first use): what every other command would otherwise compile at start-up.
 */
export interface Builder {
  build(request: BuildRequest, registry: RegistryCliOptions): Promise<BuildResult>;
  rebuild(request: RebuildRequest, registry: RegistryCliOptions): Promise<RebuildReport>;
  /** Stop the encoders' workers. */
  close(): Promise<void>;
}

export function makeBuilder(
  options: AppOptions,
  version: string,
  openStore: () => Promise<OciLayoutStore>,
  openBaseCache: () => Promise<OciLayoutStore>,
): Builder {
  const encoders = new Map<boolean, ParallelLayerEncoder>();
  const bases = new LayoutBaseImages(options.layerLimits);
  const builder: Builder = {
    async build(request, registry) {
      const s = await openStore();
      // --no-cache: an encoder that neither believes nor updates the build cache.
      const cached = !request.noCache;
      let encoder = encoders.get(cached);
      if (!encoder) {
        encoder = makeEncoder(options, s, cached);
        encoders.set(cached, encoder);
      }
      const registryBases = registryBasesOf(registry, openBaseCache, s);
      return build(
        buildDeps(s, encoder, bases, registryBases, version),
        withLocalKey(options.home, request),
      );
    },
    async rebuild(request, registry) {
      return rebuildCheck(
        {
          store: await openStore(),
          describeSource: describeGit,
          realpath: (path) => realpathSync(path),
          readFile: (path) => readFileSync(path),
          buildFresh: (buildRequest) => buildInScratch(options, version, buildRequest, registry),
        },
        request,
      );
    },
    async close() {
      await Promise.all([...encoders.values()].map((e) => e.close()));
      encoders.clear();
    },
  };
  return builder;
}

/** Where a build's registry base comes from and is kept. */
function registryBasesOf(
  registry: RegistryCliOptions,
  cache: () => Promise<OciLayoutStore>,
  store: OciLayoutStore,
): RegistryBases {
  return {
    // Loaded only by a build from a registry base: the HTTP client is 0.5 MB of JavaScript.
    connect: async (ref) =>
      (await import('../adapters/registry/connect.js')).connectRegistry(ref, registry),
    cache,
    locations: locationsOf(store),
  };
}

/** The build's side effects, as the CLI supplies them. */
function buildDeps(
  store: OciLayoutStore,
  encoder: ParallelLayerEncoder,
  bases: LayoutBaseImages,
  registryBases: RegistryBases,
  version: string,
): BuildDeps {
  return {
    store,
    encoder,
    bases,
    registryBases,
    walk: walkSource,
    now: () => new Date(),
    cwd: process.cwd(),
    pathKind,
    readSpecFile,
    tool: `ingot-${version}`,
    version,
    loadSigner,
    describeSource: describeGit,
    invocationId: randomUUID,
  };
}

/** One per cache setting, reused by every build of this app (its workers stay started). */
function makeEncoder(
  options: AppOptions,
  store: OciLayoutStore,
  cached: boolean,
): ParallelLayerEncoder {
  const { home } = options;
  return new ParallelLayerEncoder({
    workers: options.workers ?? Math.max(1, Math.min(availableParallelism(), 8)),
    cacheFile: cached ? join(home, 'cache', 'segments-v1.json') : null,
    ...(cached && { cacheSecret: cacheSecret(join(home, 'keys', 'build-cache.key')) }),
    blobPath: (d) => store.blobPath(d),
    blobExists: (d) => existsSync(store.blobPath(d)),
  });
}

/**
 * With nothing configured, sign with this machine's key (made by `ingot up`), so that what
 * is built here is admitted here.
 */
function withLocalKey(home: string, request: BuildRequest): BuildRequest {
  if ((request.signingKeys ?? []).length > 0) return request;
  const local = localSigningKey(home);
  return local ? { ...request, signingKeys: [local] } : request;
}

/**
 * `ingot rebuild`'s build: into a throwaway home (store, no cache) removed afterwards, so
 * that the check proves the build reproducible, not the cache stable.
 */
async function buildInScratch(
  options: AppOptions,
  version: string,
  request: BuildRequest,
  registry: RegistryCliOptions,
): Promise<BuildResult> {
  makeHome(options.home);
  const scratch = mkdtempSync(join(options.home, 'rebuild-'));
  const baseCache = options.baseCache ?? join(options.home, 'cache', 'bases');
  let store: Promise<OciLayoutStore> | null = null;
  let bases: Promise<OciLayoutStore> | null = null;
  const fresh = makeBuilder(
    { ...options, home: scratch, baseCache },
    version,
    () => (store ??= OciLayoutStore.open(join(scratch, 'store'))),
    () => (bases ??= OciLayoutStore.open(baseCache)),
  );
  try {
    return await fresh.build(request, registry);
  } finally {
    await fresh.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
