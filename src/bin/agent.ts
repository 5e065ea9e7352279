import { lstatSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LayoutBaseImages } from '../adapters/base-image/index.js';
import { CNI_PLUGIN_DIR, CniNetwork } from '../adapters/cni/cni.js';
import { probe } from '../adapters/health/probe.js';
import { loadPublicKey, parsePublicKey } from '../adapters/keys/key-files.js';
import { OciLayoutStore } from '../adapters/oci-layout/store.js';
import {
  mappedFile,
  readExecutable,
  readIdentity,
  readMaps,
  readMountinfo,
  scanProcesses,
} from '../adapters/integrity/proc.js';
import { startProcessEvents } from '../adapters/integrity/proc-events.js';
import { watchRootfs } from '../adapters/integrity/watch-rootfs.js';
import { collectRootfs, discardRootfs, materialiseRootfs } from '../adapters/rootfs/materialise.js';
import { observePath } from '../adapters/rootfs/scan.js';
import { RootfsVerifyError } from '../adapters/integrity/verify-errors.js';
import { createVerifier } from '../adapters/integrity/verify-tree.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import { RuncRuntime } from '../adapters/runc/runc.js';
import { AgentStateFile } from '../adapters/host-files/agent-state-file.js';
import { saveHostSettings } from '../adapters/host-files/host-settings.js';
import { HomeVolumes } from '../adapters/host-files/host-volumes.js';
import { HostIdRanges } from '../adapters/host-files/id-ranges.js';
import { blockingAncestor, openForSearch } from '../adapters/rootfs/id-gate.js';
import { IngotError } from '../domain/errors.js';
import { HomeInstanceFiles } from '../adapters/host-files/instance-files.js';
import { readUserDb } from '../adapters/rootfs/user-db.js';
import { initBinary } from '../adapters/init/init-binary.js';
import { INIT_FILE } from '../core/runtime/init.js';
import { readSpecFile } from '../adapters/shared/spec-file.js';
import { DEFAULT_MAX_INSTANCES } from '../core/capacity/host-capacity.js';
import { digestHex, digestOf } from '../domain/digest.js';
import { Agent } from '../services/agent/index.js';
import { loadTrust, type LoadedPolicy } from '../services/policy.js';
import { registryPuller, type RegistryAccess } from './registry-app.js';

export interface AgentOptions {
  /** `$INGOT_HOME`. */
  readonly home: string;
  /** What starts are admitted against: a policy file and/or trusted public keys. */
  readonly policyFile?: string;
  readonly keyFiles?: readonly string[];
  /** The instances' bridge and subnet (default ingot0, 10.88.0.0/24). */
  readonly bridge?: string;
  readonly subnet?: string;
  /**
   * Networks instances reach beyond their own subnet, through their bridge's address (the
   * host routes them on): other hosts' instances and the servers, in a cluster. Default
   * none: an instance has no route off its subnet, as on one host before.
   */
  readonly routes?: readonly string[];
  readonly cgroupParent?: string;
  readonly stopGraceMs?: number;
  readonly logMaxBytes?: number;
  /** Full verification of every rootfs in use this often (default 10 min; 0: never). */
  readonly fullVerifyMs?: number;
  /** Told of every event the ledger records. */
  readonly onEvent?: (event: LedgerEntryDraft) => void;
  /** The process-event source failed after it started (default: written to stderr). */
  readonly onIntegrityError?: (err: Error) => void;
  /** Instances this host runs at most (default DEFAULT_MAX_INSTANCES); more wait, pending. */
  readonly maxInstances?: number;
  /**
   * Each fleet's instances in a user namespace of their own (default true): root inside is
   * an unprivileged id range on the host. false: they share the host's ids, as before.
   */
  readonly userNamespaces?: boolean;
  /** How registries are reached when a start needs an artifact the store lacks. */
  readonly registries?: Omit<RegistryAccess, 'env'>;
}

/** The instances' subnet unless configured. */
export const DEFAULT_SUBNET = '10.88.0.0/24';

/** The verifier's own trouble (a worker died, it was closed or aborted): not drift. */
function isVerifierFault(err: unknown): boolean {
  return (
    err instanceof RootfsVerifyError &&
    ['E_ROOTFS_VERIFY_WORKER', 'E_ROOTFS_VERIFY_CLOSED', 'E_ROOTFS_VERIFY_ABORTED'].includes(
      err.code,
    )
  );
}

/** What starts and deploys are admitted against, read fresh on every call. */
export function makeTrust(options: {
  readonly policyFile?: string;
  readonly keyFiles?: readonly string[];
}): () => Promise<LoadedPolicy> {
  const bases = new LayoutBaseImages();
  return () =>
    loadTrust(
      {
        readPublicKey: loadPublicKey,
        parsePublicKey,
        readSpecFile,
        userHome: process.env['HOME'],
        resolveBase: async (layoutDir, tag) =>
          (await bases.open({ layoutDir, tag }, layoutDir)).descriptor.digest,
      },
      {
        ...(options.policyFile !== undefined && { policyFile: options.policyFile }),
        keyFiles: options.keyFiles ?? [],
      },
    );
}

/**
 * Whether instances get user namespaces: as asked, or by default whenever the home can serve
 * them. A home under a folder others cannot pass (/root is 0700) cannot: it is said out loud,
 * with the fix, and instances share the host's ids; asked for explicitly, it is refused.
 */
function userNamespacesFor(home: string, asked: boolean | undefined): boolean {
  if (asked === false) return false;
  const blocking = blockingAncestor(home);
  if (blocking === null) return true;
  const why = `${blocking} (above ${home}) cannot be passed by other users, so runc cannot reach a rootfs from inside an instance's user namespace`;
  if (asked === true)
    throw new IngotError('E_USERNS', `${why}: chmod o+x ${blocking}, or use another INGOT_HOME`);
  process.stderr.write(
    `ingot agent: WARNING: instances run WITHOUT user namespaces (root inside is root outside): ${why}. Fix: chmod o+x ${blocking}, or use another INGOT_HOME\n`,
  );
  return false;
}

/** Composition root of the host agent: runc, CNI, the rootfs cache, the store. */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  let verifier = createVerifier();
  const { home } = options;
  const store = await OciLayoutStore.open(join(home, 'store'));
  const bridge = options.bridge ?? 'ingot0';
  const subnet = options.subnet ?? DEFAULT_SUBNET;
  // One cgroup per $INGOT_HOME by default: instance ids are unique only within one.
  const cgroupParent = options.cgroupParent ?? `/ingot/${digestHex(digestOf(home)).slice(0, 8)}`;
  // For `ingot down --stop-instances` without a server: how to undo what is made here.
  saveHostSettings(home, {
    bridge,
    subnet,
    cgroupParent,
    ...(options.stopGraceMs !== undefined && { stopGraceMs: options.stopGraceMs }),
  });
  // Refuses to start (E_PROCESS_EVENTS) rather than run blind to short exec sessions.
  const processEvents = await startProcessEvents({
    onError:
      options.onIntegrityError ??
      ((err) => process.stderr.write(`ingot agent: integrity: ${err.message}\n`)),
  });
  const idRanges = userNamespacesFor(home, options.userNamespaces) ? new HostIdRanges(home) : null;
  // runc reaches each rootfs and volume from inside the instance's user namespace: the home
  // is passable (search-only, nothing listed or read) down to each range's gate (id-gate.ts).
  if (idRanges) openForSearch(home);
  return new Agent({
    store,
    ...(idRanges && { idRange: (fleet: string) => idRanges.rangeFor(fleet) }),
    files: new HomeInstanceFiles(home),
    volumes: new HomeVolumes(home),
    state: new AgentStateFile(home),
    readUserDb,
    // The host's static init for images that ask for one: copied once, by its digest.
    init: initBinary(join(home, 'init'), INIT_FILE),
    cgroupParent,
    runtime: new RuncRuntime(join(home, 'runc')),
    network: new CniNetwork({
      pluginDir: CNI_PLUGIN_DIR,
      bridge,
      subnet,
      ...(options.routes !== undefined && { routes: options.routes }),
      stateDir: join(home, 'cni'),
      name: `ingot-${bridge}`,
    }),
    trust: makeTrust(options),
    pull: registryPuller(
      store,
      { insecure: [], ...options.registries, env: process.env },
      makeTrust(options),
    ),
    materialise: (artifact, mountPoints, idMap) =>
      materialiseRootfs({
        idMap,
        cacheDir: join(home, 'rootfs'),
        storeRoot: store.root,
        image: artifact.digest,
        layers: artifact.manifest.layers,
        diffIds: artifact.config.rootfs.diff_ids,
        measurement: artifact.measurement,
        mountPoints,
      }),
    collectRootfs: (inUse, folders) => collectRootfs(join(home, 'rootfs'), inUse, folders),
    discardRootfs: (image, rootfs) => discardRootfs(join(home, 'rootfs'), image, rootfs),
    integrity: {
      watch: watchRootfs,
      observe: observePath,
      // One pool of hashing workers for every full verification, reused (unref'd while idle);
      // a pool that broke (a worker died) is replaced for the next check.
      verifyTree: async (root, measurement, allowed) => {
        try {
          return await verifier.verify(root, measurement, { allowed });
        } catch (err) {
          if (isVerifierFault(err)) {
            const broken = verifier;
            verifier = createVerifier();
            await broken.close().catch(() => undefined);
          }
          throw err;
        }
      },
      isVerifierFault,
      close: async () => {
        await verifier.close();
        await processEvents.close();
      },
      processes: scanProcesses,
      processEvents,
      identity: readIdentity,
      mountinfo: readMountinfo,
      maps: readMaps,
      executable: readExecutable,
      mappedFile,
      fileId: (root, path) => {
        try {
          const st = lstatSync(join(root, path));
          return { dev: st.dev, ino: st.ino };
        } catch {
          return null;
        }
      },
    },
    ...(options.fullVerifyMs !== undefined && { fullVerifyMs: options.fullVerifyMs }),
    ...(options.onEvent !== undefined && { onEvent: options.onEvent }),
    probe,
    now: () => new Date(),
    hostName: hostname(),
    ...(options.stopGraceMs !== undefined && { stopGraceMs: options.stopGraceMs }),
    ...(options.logMaxBytes !== undefined && { logMaxBytes: options.logMaxBytes }),
    maxInstances: options.maxInstances ?? DEFAULT_MAX_INSTANCES,
  });
}
