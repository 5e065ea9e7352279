import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { availableParallelism, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { LayoutBaseImages, type LayerLimits } from '../adapters/base-image/index.js';
import { describeGit } from '../adapters/git/describe.js';
import { makeHome } from '../adapters/home/private-home.js';
import {
  generateKeyFiles,
  loadPublicKey,
  loadSigner,
  parsePublicKey,
} from '../adapters/keys/key-files.js';
import { cacheSecret } from '../adapters/keys/cache-secret.js';
import { localSigningKey } from '../adapters/keys/local-keys.js';
import { ParallelLayerEncoder } from '../adapters/layer-encoder/encoder.js';
import { OciLayoutStore } from '../adapters/oci-layout/store.js';
import { pathKind } from '../adapters/shared/path-kind.js';
import { readSpecFile } from '../adapters/shared/spec-file.js';
import type * as FleetStoreModule from '../adapters/sqlite/state.js';
import { walkSource } from '../adapters/source/walk.js';
import type { AppFactory, CliApp, RegistryCliOptions } from '../cli/io.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import {
  build,
  type BuildDeps,
  type BuildRequest,
  type BuildResult,
  type RegistryBases,
} from '../services/build/index.js';
import { loadTrust } from '../services/policy.js';
import { readInstanceLogs } from '../adapters/host-files/instance-files.js';
import { readPrevious } from '../adapters/host-files/previous-instances.js';
import { locationsOf, registryCommands } from './registry-app.js';
import { rebuildCheck } from '../services/rebuild.js';
import { verifyArtifact } from '../services/verify.js';

/** Composition root of the `ingot` command: the only place adapters meet services. */

export const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export interface AppOptions {
  readonly home: string;
  /** Encoder threads (default: one per core, at most 8). */
  readonly workers?: number;
  readonly layerLimits?: LayerLimits;
  /**
   * Where registry bases are kept (default `$INGOT_HOME/cache/bases`). A rebuild's throwaway
   * home shares its home's: bases are pinned inputs, verified by digest on every read.
   */
  readonly baseCache?: string;
}

/** No flags: TLS against the system CAs, credentials from the usual files. */
const DEFAULT_REGISTRY: RegistryCliOptions = { plainHttp: false, env: process.env };

/** Where a build's registry base comes from and is kept. */
function registryBasesOf(
  registry: RegistryCliOptions,
  cache: () => Promise<OciLayoutStore>,
  store: OciLayoutStore,
): RegistryBases {
  return {
    // Loaded only by a build from a registry base: the HTTP client is 1 MB of JavaScript.
    connect: async (ref) =>
      (await import('../adapters/registry/connect.js')).connectRegistry(ref, registry),
    cache,
    locations: locationsOf(store),
  };
}

export function makeApp(options: AppOptions): CliApp {
  const { home } = options;
  let store: Promise<OciLayoutStore> | null = null;
  const encoders = new Map<boolean, ParallelLayerEncoder>();
  const openStore = () => {
    makeHome(home);
    return (store ??= OciLayoutStore.open(join(home, 'store')));
  };
  const bases = new LayoutBaseImages(options.layerLimits);
  let baseCache: Promise<OciLayoutStore> | null = null;
  const openBaseCache = () => {
    makeHome(home);
    return (baseCache ??= OciLayoutStore.open(options.baseCache ?? join(home, 'cache', 'bases')));
  };
  const app: CliApp = {
    store: openStore,
    async build(request, registry = DEFAULT_REGISTRY) {
      // The ledger's modules load while the build waits on its workers, not after it.
      void loadFleetStore().catch(() => undefined);
      const s = await openStore();
      // --no-cache: an encoder that neither believes nor updates the build cache.
      const cached = !request.noCache;
      let encoder = encoders.get(cached);
      if (!encoder) {
        encoder = makeEncoder(options, s, cached);
        encoders.set(cached, encoder);
      }
      const registryBases = registryBasesOf(registry, openBaseCache, s);
      const result = await build(
        buildDeps(s, encoder, bases, registryBases),
        withLocalKey(home, request),
      );
      await recordBuild(home, result);
      return result;
    },
    async generateKey(outDir, name) {
      const generated = generateKeyFiles(outDir, name);
      // Into this home's ledger if there is one: making a key pair must not create a home.
      if (!existsSync(join(home, 'state.db'))) return generated;
      await recordEvents(home, [
        {
          time: Date.now(),
          actor: process.env['SUDO_USER'] ?? userInfo().username,
          kind: 'key',
          subjects: [],
          detail: {
            purpose: 'signing builds',
            keyId: generated.keyId,
            publicKey: resolve(generated.publicKey),
          },
        },
      ]);
      return generated;
    },
    loadTrust: (trust) =>
      loadTrust(
        {
          readPublicKey: loadPublicKey,
          parsePublicKey,
          resolveBase: async (layoutDir, tag) =>
            (await bases.open({ layoutDir, tag }, layoutDir)).descriptor.digest,
          readSpecFile,
        },
        trust,
      ),
    async verify(ref, trust, { rehash }) {
      return verifyArtifact(await openStore(), {
        ref,
        policy: trust.policy,
        keys: trust.keys,
        rehash,
        resources: null,
      });
    },
    ...registryCommands(openStore),
    async rebuild(request, registry = DEFAULT_REGISTRY) {
      return rebuildCheck(
        {
          store: await openStore(),
          describeSource: describeGit,
          realpath: (path) => realpathSync(path),
          readFile: (path) => readFileSync(path),
          buildFresh: (buildRequest) => buildInScratch(options, buildRequest, registry),
        },
        request,
      );
    },
    logs: (id) => readInstanceLogs(home, id),
    previousLogs: (id) => readPrevious(home, id),
    ledger: async (vkeyFile) => {
      const { LedgerAudit } = await import('../adapters/sqlite/ledger-audit.js');
      // A cluster's ledger is in its PostgreSQL database (INGOT_DATABASE names it).
      return LedgerAudit.open(home, vkeyFile, process.env['INGOT_DATABASE']);
    },
    home,
    stopInstancesWithoutServer: async () => {
      const { stopWithoutServer } = await import('./offline-stop.js');
      const actor = process.env['SUDO_USER'] ?? userInfo().username;
      const events: LedgerEntryDraft[] = [];
      try {
        return await stopWithoutServer(home, actor, (e) => events.push(e));
      } finally {
        // What was stopped is recorded even if the rest failed.
        if (events.length > 0) await recordEvents(home, events);
      }
    },
    ...serverProcesses(home),
    async close() {
      await Promise.all([...encoders.values()].map((e) => e.close()));
      encoders.clear();
    },
  };
  return app;
}

/** The build's side effects, as the CLI supplies them. */
function buildDeps(
  store: OciLayoutStore,
  encoder: ParallelLayerEncoder,
  bases: LayoutBaseImages,
  registryBases: RegistryBases,
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
  request: BuildRequest,
  registry: RegistryCliOptions,
): Promise<BuildResult> {
  makeHome(options.home);
  const scratch = mkdtempSync(join(options.home, 'rebuild-'));
  const fresh = makeApp({
    ...options,
    home: scratch,
    baseCache: options.baseCache ?? join(options.home, 'cache', 'bases'),
  });
  try {
    return await fresh.build(request, registry);
  } finally {
    await fresh.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * A build goes into the home's ledger, as its signatures do: what was built, from what,
 * by whom. Written straight to $INGOT_HOME/state.db (a running server shares it; SQLite
 * takes the write lock in turn).
 */
async function recordBuild(home: string, result: BuildResult): Promise<void> {
  const time = Date.now();
  const actor = process.env['SUDO_USER'] ?? userInfo().username;
  const git = result.source.git;
  await recordEvents(home, [
    {
      time,
      actor,
      kind: 'build',
      subjects: [result.digest, result.measurement.digest, result.sbom.digest, result.source.tree],
      detail: {
        name: result.name,
        version: result.version,
        tag: result.tag,
        base: result.base?.digest ?? 'scratch',
        ...(git !== null && { commit: git.commit, dirty: git.dirty }),
        signatures: result.attestations.map((a) => a.keyId),
      },
    },
    ...result.attestations.map((a) => ({
      time,
      actor,
      kind: 'attestation',
      subjects: [result.digest, a.digest],
      detail: { keyId: a.keyId, predicateType: 'https://slsa.dev/provenance/v1' },
    })),
  ]);
}

/**
 * The fleet store and the query builder under it are a few hundred modules: loaded only by
 * the commands that write to the ledger, so that `ingot --help` and friends start fast.
 */
let fleetStoreModule: Promise<typeof FleetStoreModule> | null = null;
function loadFleetStore(): Promise<typeof FleetStoreModule> {
  fleetStoreModule ??= import('../adapters/sqlite/state.js');
  return fleetStoreModule;
}

/** The long-running processes the CLI can become: `up`, `server`, `agent`. */
function serverProcesses(home: string): Pick<CliApp, 'serve' | 'serveCluster' | 'runClusterAgent'> {
  return {
    serve: async (serveOptions) => {
      const { runServer } = await import('./server.js');
      return runServer({ home, logToStdout: true, version, ...serveOptions });
    },
    serveCluster: async (options) => {
      const { runClusterServer } = await import('./cluster-server.js');
      return runClusterServer({ home, logToStdout: true, ...options });
    },
    runClusterAgent: async (options) => {
      const { runClusterAgent } = await import('./cluster-agent.js');
      return runClusterAgent({ home, logToStdout: true, ...options });
    },
  };
}

/** Events of the CLI, into the home's ledger (shared with a running server through SQLite). */
async function recordEvents(home: string, drafts: LedgerEntryDraft[]): Promise<void> {
  makeHome(home);
  const { SqliteState } = await loadFleetStore();
  const state = await SqliteState.open(join(home, 'state.db'));
  try {
    await state.append(drafts);
  } finally {
    await state.close();
  }
}

export const appFactory: AppFactory = ({ home }) => makeApp({ home });
