import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import type { IdMap } from '../../core/runtime/id-map.js';
import type { ProbeOutcome } from '../../core/runtime/health.js';
import type { HealthProbe } from '../../domain/baseline.js';
import type { Digest } from '../../domain/digest.js';
import type { AgentStateStore } from '../../ports/agent-state.js';
import type { HostVolumes, InstanceFiles } from '../../ports/instance-files.js';
import type { Network } from '../../ports/network.js';
import type { Runtime } from '../../ports/runtime.js';
import type { Store } from '../../ports/store.js';
import type { Artifact } from '../artifact.js';
import type { FileId, IntegrityDeps } from '../integrity/index.js';
import type { PullArtifact } from './fetch-artifact.js';
import type { LoadedPolicy } from '../policy.js';

/** The host's init as an instance gets it (prepared once, read-only). */
export interface InitBinary {
  readonly folder: string;
  readonly digest: string;
  readonly file: FileId;
}

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;

/** What the host agent is made of: every side effect it has comes through one of these. */
export interface AgentDeps {
  readonly store: Store;
  readonly runtime: Runtime;
  readonly network: Network;
  /** Each instance's bundle and log. */
  readonly files: InstanceFiles;
  /** The host folders behind the instances' volumes. */
  readonly volumes: HostVolumes;
  /** The agent's own record of its instances, for its next start. */
  readonly state: AgentStateStore;
  /** The policy and keys every start is admitted against, read fresh each time. */
  readonly trust: () => Promise<LoadedPolicy>;
  /** Unpack and verify an artifact's rootfs (cached per digest and id range). */
  readonly materialise: (
    artifact: Artifact,
    mountPoints: readonly string[],
    idMap: IdMap | null,
  ) => Promise<{
    readonly rootfs: string;
    /** Taken from an earlier start rather than made and verified now. */
    readonly reused?: boolean;
    /** Mount points the host added (empty folders the measurement lacks). */
    readonly mountPoints?: readonly string[];
  }>;
  /**
   * The fleet's id range on this host: its instances run in a user namespace whose root is
   * the range's first id. Absent: instances share the host's ids (no user namespace).
   */
  readonly idRange?: (fleet: string) => IdMap;
  /** A verified rootfs's /etc/passwd and /etc/group (empty when absent or unsafe to read). */
  readonly readUserDb: (rootfs: string) => { passwd: string; group: string };
  /** 'unprobed' when the agent could not make the probe (it never counts against one). */
  readonly probe: (address: string, probe: HealthProbe, timeoutMs: number) => Promise<ProbeOutcome>;
  readonly now: () => Date;
  /** cgroup under which instances are placed, one child each. */
  readonly cgroupParent: string;
  /**
   * The host's static init, for images whose contract asks for one (core/runtime/init.ts):
   * a folder holding only it, its digest and its file's identity. Throws (E_INIT) if the host
   * has none; absent: such images fail to start.
   */
  readonly init?: () => InitBinary;
  /** SIGTERM, then this long, then SIGKILL (default 10 s). */
  readonly stopGraceMs?: number;
  /** Each instance's log files hold at most this much in all (default 10 MiB). */
  readonly logMaxBytes?: number;
  /**
   * How instances are measured while they run (files, processes, mounts, executables);
   * without it nothing is checked and every instance reports integrity "unchecked".
   */
  readonly integrity?: Omit<IntegrityDeps, 'onDrift' | 'now'>;
  /**
   * Move a changed rootfs aside so that it is never used again (the next start of the
   * artifact materialises it afresh from verified blobs); returns its new folder.
   */
  readonly discardRootfs?: (artifact: Digest, rootfs: string) => string;
  /** Check processes, mounts and executables this often (default 1 s). */
  readonly processCheckMs?: number;
  /** Verify every rootfs in use in full this often (default 10 min; 0: never). */
  readonly fullVerifyMs?: number;
  /**
   * Told of every event the ledger records (admission on the host, instances started,
   * healthy and stopped, drift); it must not throw.
   */
  readonly onEvent?: (event: LedgerEntryDraft) => void;
  /** Instances this host runs at most; more wait, pending (default 250). */
  readonly maxInstances?: number;
  /** Starts under way at once (default 3): a fleet's start storm must not starve the rest. */
  readonly startConcurrency?: number;
  /** This host's name, reported with every instance. */
  readonly hostName?: string;
  /** Remove cached rootfs of every artifact not in use (called after instances stop). */
  readonly collectRootfs?: (inUse: ReadonlySet<Digest>, foldersInUse: ReadonlySet<string>) => void;
  /**
   * Pull a registry reference (by digest) into the store, admitted before any layer, when a
   * start needs an artifact the store lacks. Without it such a start fails.
   */
  readonly pull?: PullArtifact;
}
