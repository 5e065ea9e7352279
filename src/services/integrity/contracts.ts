import type { Drift, ObservedEntry } from '../../core/integrity/diff.js';
import type { FileId } from '../../core/integrity/executables.js';
import type { ExpectedMounts } from '../../core/integrity/mounts.js';
import type { InstanceIdentity, ProcessEvent } from '../../core/integrity/process-events.js';
import type { ProcessView } from '../../core/integrity/processes.js';
import type { Digest } from '../../domain/digest.js';
import type { Evidence } from '../../domain/instance.js';
import type { MeasuredEntry } from '../../domain/measurement.js';

export type { FileId };

/** An instance as the monitor checks it. */
export interface MonitoredInstance {
  readonly id: string;
  /** Host PID of its init. */
  readonly pid: number;
  readonly artifact: Digest;
  /** The rootfs folder it runs from (shared by every instance of the artifact). */
  readonly rootfs: string;
  readonly measurement: readonly MeasuredEntry[];
  /** Mount points the host added to the rootfs (empty folders, not drift). */
  readonly allowed: ReadonlySet<string>;
  /** The runtime config the agent wrote for it. */
  readonly config: ExpectedMounts;
  /**
   * The host's init it runs as PID 1, bind-mounted at `path` (runtime: init: true): the one
   * program not in the measurement that may run, and only as that very file.
   */
  readonly init?: { readonly path: string; readonly file: FileId };
}

/** What a rootfs watch is made from: the part of an instance that names its files. */
export type RootfsOf = Pick<MonitoredInstance, 'artifact' | 'rootfs' | 'measurement' | 'allowed'>;

/** What was found, about which instances; `rootfs` when a shared rootfs itself changed. */
export interface DriftFinding {
  readonly ids: readonly string[];
  readonly evidence: readonly Evidence[];
  readonly rootfs?: { readonly artifact: Digest; readonly folder: string };
}

/** Processes as they fork and exec, from the kernel (what a poll of /proc would miss). */
export interface ProcessEvents {
  subscribe(listener: {
    onProcess(e: ProcessEvent): void;
    /** Events may have been lost: only a scan of /proc can say what runs now. */
    onLost(): void;
  }): { close(): void };
}

/** The host facts the monitor reads; adapters in production, the same in tests. */
export interface IntegrityDeps {
  readonly watch: (
    root: string,
    onPaths: (paths: string[]) => void,
    onError: (err: Error) => void,
  ) => { close(): void };
  readonly observe: (root: string, path: string) => ObservedEntry | null;
  readonly verifyTree: (
    root: string,
    measurement: readonly MeasuredEntry[],
    allowed: ReadonlySet<string>,
  ) => Promise<Drift[]>;
  /** Whether a failed verification is the verifier's own fault (not evidence of drift). */
  readonly isVerifierFault?: (err: unknown) => boolean;
  readonly processes: () => ProcessView[];
  /**
   * Required, not optional: without an event source a `runc exec` shorter than the /proc
   * scan's period goes unseen, so a composition root cannot leave it out by accident.
   */
  readonly processEvents: ProcessEvents;
  /** An init's namespaces and cgroups, to match process events to its instance. */
  readonly identity: (pid: number) => Omit<InstanceIdentity, 'id' | 'pid'> | null;
  readonly mountinfo: (pid: number) => string | null;
  readonly maps: (pid: number) => string | null;
  readonly executable: (pid: number) => { path: string; deleted: boolean; file: FileId } | null;
  readonly mappedFile: (pid: number, range: string) => FileId | null;
  /** Identity of a rootfs file (lstat), or null if there is none. */
  readonly fileId: (root: string, path: string) => FileId | null;
  readonly now: () => Date;
  /** Release what the host side holds (hashing workers). */
  readonly close?: () => Promise<void>;
  /**
   * Drift was found. `rootfs` names the artifact whose shared rootfs was changed: every
   * instance on it is tainted and the folder must not be used again.
   */
  readonly onDrift: (finding: DriftFinding) => void;
}
