import type { LogMark } from '../core/runtime/log-marks.js';
import type { LedgerAudit } from '../adapters/sqlite/ledger-audit.js';
import type { GeneratedKey } from '../domain/attestation.js';
import type { Store } from '../ports/store.js';
import type { BuildRequest, BuildResult } from '../services/build/index.js';
import type { LoadedPolicy } from '../services/policy.js';
import type { PullReport } from '../services/registry/pull.js';
import type { PushReport } from '../services/registry/push.js';
import type { RebuildReport, RebuildRequest } from '../services/rebuild.js';
import type { VerifyReport } from '../services/verify.js';
import type { PreviousInstance } from '../domain/instance.js';
import type { HostFacts } from '../core/doctor/facts.js';

/** Where the CLI writes, and what it knows of the terminal. Tests supply their own. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly errIsTty: boolean;
  /** Whether stdout is a terminal (`--watch` redraws there, and appends elsewhere). */
  readonly outIsTty?: boolean;
  readonly columns: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The effective uid (root's default home is not a user's); unknown off POSIX. */
  readonly uid?: number;
}

/** What the composition root (bin/) gives the CLI: services with their adapters wired. */
export interface CliApp {
  /** `registry`: how to reach the registry of a `from: { image }` base (default: TLS, no flags). */
  build(request: BuildRequest, registry?: RegistryCliOptions): Promise<BuildResult>;
  store(): Promise<Store>;
  /** A signing key pair, recorded in this home's ledger; in `outDir`, else the home's keys folder. */
  generateKey(outDir: string | undefined, name: string): Promise<GeneratedKey>;
  loadTrust(options: { policyFile?: string; keyFiles?: readonly string[] }): Promise<LoadedPolicy>;
  /**
   * What `verify` and `pull` admit under: the policy and keys given, else (services/policy.ts,
   * trustsHomeKey) the home's own key, whose path is then `homeKey`.
   */
  admissionTrust(options: {
    policyFile?: string;
    keyFiles?: readonly string[];
  }): Promise<{ trust: LoadedPolicy; homeKey: string | null }>;
  verify(ref: string, trust: LoadedPolicy, options: { rehash: boolean }): Promise<VerifyReport>;
  rebuild(request: RebuildRequest, registry?: RegistryCliOptions): Promise<RebuildReport>;
  /** Push an image and its attachments to a registry (`dest` as the user typed it). */
  push(ref: string, dest: string, options: RegistryCliOptions): Promise<PushReport>;
  /** Pull an image and its attachments, admitted under `trust` before any layer is fetched. */
  pull(
    src: string,
    options: RegistryCliOptions & { readonly tag?: string; readonly trust: LoadedPolicy },
  ): Promise<PullReport>;
  /**
   * An instance's log on this host, as bytes: its marks are byte offsets into them (decoded
   * and encoded again, a byte that is not UTF-8 would come back as three).
   */
  logs(id: string): Uint8Array;
  /** Its time marks on this host (core/runtime/log-marks.ts), oldest first. */
  logMarks(id: string): LogMark[];
  /** What an exited instance left on this host (its exit, its last 64 KiB of output). */
  previousLogs(id: string): PreviousInstance;
  /** This home's ledger, read-only (verifier key: `vkeyFile`, else the home's own). */
  ledger(vkeyFile?: string): Promise<LedgerAudit>;
  /**
   * A ledger export read as a ledger (a server's answer; `from` names it): verifier key
   * `vkeyFile`, else the one the export names.
   */
  exportedLedger(text: string, from: string, vkeyFile?: string): Promise<LedgerAudit>;
  /** `$INGOT_HOME`. */
  readonly home: string;
  /** What `ingot doctor` judges about this machine and this home; reads, changes nothing. */
  hostFacts(): Promise<HostFacts>;
  /**
   * With no server running: stop every instance of this home from the agent's saved record
   * and the runtime's list, release their network, and record the stops in the ledger.
   */
  stopInstancesWithoutServer(): Promise<OfflineStopReport>;
  /** Run the server (API, controller, agent) in this process. */
  serve(
    options: ServeOptions,
  ): Promise<{ url: string; stopped: Promise<void>; stop(): Promise<void> }>;
  /** Run one server of a cluster in this process (bin/cluster-server.ts). */
  serveCluster(options: ClusterServeOptions): Promise<RunningClusterServer>;
  /** Run a cluster's host agent in this process (bin/cluster-agent.ts). */
  runClusterAgent(options: ClusterAgentRunOptions): Promise<RunningClusterAgent>;
  close(): Promise<void>;
}

export interface OfflineStopReport {
  readonly stopped: readonly string[];
  readonly released: readonly string[];
  readonly failed: readonly { readonly id: string; readonly message: string }[];
  /** Why the shared bridge stayed (another home's instances on it, or an error). */
  readonly bridgeKept?: string;
}

export interface ServeOptions {
  readonly port?: number;
  readonly policyFile?: string;
  readonly keyFiles?: readonly string[];
  readonly bridge?: string;
  readonly subnet?: string;
  /** Networks instances reach beyond their subnet, through the host (default none). */
  readonly routes?: readonly string[];
  readonly cgroupParent?: string;
  readonly stopGraceMs?: number;
  /** Full verification of every rootfs in use this often; 0: only on demand. */
  readonly fullVerifyMs?: number;
  /** Instances this host takes at most (deploys beyond it are refused). */
  readonly maxInstances?: number;
  /** How deploys and starts reach registries for artifacts named by a registry reference. */
  readonly registries?: {
    /** `HOST[:PORT]` spoken to in plain HTTP. */
    readonly insecure: readonly string[];
    readonly caFile?: string;
  };
  /** Where GET /metrics is served with the metrics token (default: nowhere). */
  readonly metricsListen?: { readonly host: string; readonly port: number };
  /** server.log's level (default info). */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

/** `ingot server`: one server of a cluster (bin/cluster-server.ts). */
export interface ClusterServeOptions {
  readonly etcd: {
    readonly endpoints: readonly string[];
    readonly caFile?: string;
    readonly certFile?: string;
    readonly keyFile?: string;
    /** etcd's root `USER:PASSWORD`, in a file. */
    readonly credentialsFile?: string;
  };
  /** `postgres://…` */
  readonly database: string;
  readonly host?: string;
  readonly port?: number;
  readonly name?: string;
  readonly policyFile?: string;
  readonly keyFiles?: readonly string[];
  readonly registries?: NonNullable<ServeOptions['registries']>;
  readonly metricsListen?: NonNullable<ServeOptions['metricsListen']>;
  readonly logLevel?: NonNullable<ServeOptions['logLevel']>;
}

export interface RunningClusterServer {
  readonly url: string;
  readonly name: string;
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

/** `ingot agent`: a cluster's host (bin/cluster-agent.ts). */
export interface ClusterAgentRunOptions extends Omit<
  ServeOptions,
  'port' | 'maxInstances' | 'metricsListen' | 'logLevel'
> {
  /** The cluster's servers, tried in turn (join, events). */
  readonly servers: readonly string[];
  /** Where this agent's own API listens for the servers' calls; none when absent. */
  readonly listen?: { readonly host: string; readonly port: number };
  readonly joinTokenFile: string;
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RunningClusterAgent {
  readonly name: string;
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

/** How the user asked to reach a registry. */
export interface RegistryCliOptions {
  readonly plainHttp: boolean;
  /** `USER:PASS`; else $REGISTRY_AUTH_FILE, else ~/.docker/config.json. */
  readonly creds?: string;
  readonly caFile?: string;
  /** Where to look for $REGISTRY_AUTH_FILE and $HOME. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export type AppFactory = (options: { home: string }) => CliApp;

/**
 * How a command prints: text for people, json (yaml is json turned into YAML on the way out,
 * main.ts), or wide: the text table with more columns (only where a command prints a table).
 */
export type OutputFormat = 'text' | 'json' | 'wide';
