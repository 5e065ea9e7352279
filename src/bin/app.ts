import { existsSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { LayerLimits } from '../adapters/base-image/index.js';
import { makeHome } from '../adapters/home/private-home.js';
import { generateKeyFiles, loadPublicKey, parsePublicKey } from '../adapters/keys/key-files.js';
import { OciLayoutStore } from '../adapters/oci-layout/store.js';
import { readSpecFile } from '../adapters/shared/spec-file.js';
import type * as FleetStoreModule from '../adapters/sqlite/state.js';
import type { AppFactory, CliApp, RegistryCliOptions } from '../cli/io.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import type { BuildResult } from '../services/build/index.js';
import type { GeneratedKey } from '../domain/attestation.js';
import { loadTrust, trustsHomeKey } from '../services/policy.js';
import { localKeyPaths } from '../adapters/keys/local-keys.js';
import { IngotError } from '../domain/errors.js';
import {
  readInstanceLogBytes,
  readInstanceLogMarks,
} from '../adapters/host-files/instance-files.js';
import { readPrevious } from '../adapters/host-files/previous-instances.js';
import type { Builder } from './build-app.js';
import { buildInfo } from './build-info.js';

/** Composition root of the `ingot` command: the only place adapters meet services. */

export const version = buildInfo.version;

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

export function makeApp(options: AppOptions): CliApp {
  const { home } = options;
  let store: Promise<OciLayoutStore> | null = null;
  const openStore = () => {
    makeHome(home);
    return (store ??= OciLayoutStore.open(join(home, 'store')));
  };
  let baseCache: Promise<OciLayoutStore> | null = null;
  const openBaseCache = () => {
    makeHome(home);
    return (baseCache ??= OciLayoutStore.open(options.baseCache ?? join(home, 'cache', 'bases')));
  };
  // The build's machinery (encoder and its workers, source walker, base images, git) is
  // loaded by the commands that build, not compiled by every command at start-up.
  let builder: Promise<Builder> | null = null;
  const openBuilder = () =>
    (builder ??= import('./build-app.js').then((m) =>
      m.makeBuilder(options, version, openStore, openBaseCache),
    ));
  const app: CliApp = {
    store: openStore,
    async build(request, registry = DEFAULT_REGISTRY) {
      // The ledger's modules load while the build waits on its workers, not after it.
      void loadFleetStore().catch(() => undefined);
      const result = await (await openBuilder()).build(request, registry);
      await recordBuild(home, result);
      return result;
    },
    generateKey: (outDir, name) => generateKey(home, outDir, name),
    loadTrust: (trust) =>
      loadTrust(
        {
          readPublicKey: loadPublicKey,
          parsePublicKey,
          resolveBase: async (layoutDir, tag) => {
            const { LayoutBaseImages } = await import('../adapters/base-image/index.js');
            const bases = new LayoutBaseImages(options.layerLimits);
            return (await bases.open({ layoutDir, tag }, layoutDir)).descriptor.digest;
          },
          readSpecFile,
          userHome: process.env['HOME'],
        },
        trust,
      ),
    async hostFacts() {
      const [{ gatherHostFacts }, { CNI_PLUGIN_DIR }, { INIT_BINARY, DOCTOR_PROGRAMS }] =
        await Promise.all([
          import('../adapters/host-facts/doctor-facts.js'),
          import('../adapters/cni/cni.js'),
          import('../core/doctor/checks.js'),
        ]);
      return gatherHostFacts({
        home,
        programs: DOCTOR_PROGRAMS,
        files: [INIT_BINARY],
        cniDir: CNI_PLUGIN_DIR,
        env: process.env,
      });
    },
    async admissionTrust(given) {
      if (!trustsHomeKey(given)) return { trust: await app.loadTrust(given), homeKey: null };
      const pub = homeKey(home);
      return { trust: await app.loadTrust({ keyFiles: [pub] }), homeKey: pub };
    },
    async verify(ref, trust, { rehash }) {
      const { verifyArtifact } = await import('../services/verify.js');
      return verifyArtifact(await openStore(), {
        ref,
        policy: trust.policy,
        keys: trust.keys,
        rehash,
        resources: null,
      });
    },
    // The registry commands (and what a pull verifies with) load only when one runs.
    push: async (...args) => (await loadRegistryCommands(openStore)).push(...args),
    pull: async (...args) => (await loadRegistryCommands(openStore)).pull(...args),
    async rebuild(request, registry = DEFAULT_REGISTRY) {
      return (await openBuilder()).rebuild(request, registry);
    },
    logs: (id) => readInstanceLogBytes(home, id),
    logMarks: (id) => readInstanceLogMarks(home, id),
    previousLogs: (id) => readPrevious(home, id),
    ledger: async (vkeyFile) => {
      const { LedgerAudit } = await import('../adapters/sqlite/ledger-audit.js');
      // A cluster's ledger is in its PostgreSQL database (INGOT_DATABASE names it).
      return LedgerAudit.open(home, vkeyFile, process.env['INGOT_DATABASE']);
    },
    exportedLedger: async (text, from, vkeyFile) => {
      const { LedgerAudit } = await import('../adapters/sqlite/ledger-audit.js');
      return LedgerAudit.fromExport(text, from, vkeyFile);
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
      // A builder that failed to load has nothing to close (its error was the command's).
      if (builder !== null)
        await builder.then(
          (b) => b.close(),
          () => undefined,
        );
    },
  };
  return app;
}

/** A signing key pair, in `outDir` or the home's keys folder, recorded in the home's ledger. */
async function generateKey(
  home: string,
  outDir: string | undefined,
  name: string,
): Promise<GeneratedKey> {
  let dir = outDir;
  if (dir === undefined) {
    // The home's own folder, private like the rest of it (makeHome: 0700 from the start).
    makeHome(home);
    dir = join(home, 'keys');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const generated = generateKeyFiles(dir, name);
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
}

/**
 * The home's own public key, trusted when nothing else is given (trustsHomeKey). Read, never
 * made here: a key made by a verify would trust nothing anyone signed.
 */
function homeKey(home: string): string {
  const { pub } = localKeyPaths(home);
  if (!existsSync(pub))
    throw new IngotError(
      'E_NO_TRUST',
      `nothing to verify against: no --key, no --policy, and ${home} has no key of its own yet (${pub}, made by the first \`ingot up\`). Give the trusted public key(s) with --key, or a --policy file`,
      { details: { homeKey: pub } },
    );
  return pub;
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

async function loadRegistryCommands(
  openStore: () => Promise<OciLayoutStore>,
): Promise<Pick<CliApp, 'push' | 'pull'>> {
  const { registryCommands } = await import('./registry-app.js');
  return registryCommands(openStore);
}

/** The long-running processes the CLI can become: `up`, `server`, `agent`. */
function serverProcesses(home: string): Pick<CliApp, 'serve' | 'serveCluster' | 'runClusterAgent'> {
  return {
    serve: async (serveOptions) => {
      serverRan = true;
      const { runServer } = await import('./server.js');
      return runServer({ home, logToStdout: true, version, ...serveOptions });
    },
    serveCluster: async (options) => {
      serverRan = true;
      const { runClusterServer } = await import('./cluster-server.js');
      return runClusterServer({ home, logToStdout: true, ...options });
    },
    runClusterAgent: async (options) => {
      serverRan = true;
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

let serverRan = false;
/**
 * Whether this process ran a server (`ingot serve`, `ingot server`, `ingot agent`): its log destinations (pino) are opened
 * asynchronously and flush on exit, and throw if the process exits before they are open, so
 * such a process must end by draining its event loop rather than by exiting.
 */
export function ranServer(): boolean {
  return serverRan;
}
