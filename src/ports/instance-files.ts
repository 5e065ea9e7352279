import type { IdMap } from '../core/runtime/id-map.js';
import type { RuntimeSpec } from '../core/runtime/oci-spec.js';
import type { PreviousInstance } from '../domain/instance.js';

/**
 * What a host keeps of each instance on disk: its runtime bundle (the config the runtime
 * runs it from) and its log. Ids are checked before they get here; they name folders.
 */
export interface InstanceFiles {
  /** The bundle folder the runtime runs the instance from. */
  bundle(id: string): string;
  /** Write the runtime config into the instance's bundle (made if missing). */
  writeConfig(id: string, spec: RuntimeSpec): void;
  /** The runtime config the instance was started with (to measure it after a restart). */
  readConfig(id: string): RuntimeSpec;
  /**
   * The log, opened for appending: the runtime hands it to the container's stdout/stderr.
   * Its files never hold more than `maxBytes` in all, however fast the instance writes.
   */
  openLog(id: string, maxBytes: number): { readonly fd: number; close(): void };
  /** Make room in the log (its older part goes to one old file); same `maxBytes`. */
  rotateLog(id: string, maxBytes: number): void;
  /**
   * Note the log's length now, with the time (core/runtime/log-marks.ts): what `logs
   * --timestamps` and `--since` read. Called as the agent watches; marks at most once a second.
   */
  markLog(id: string, now: number): void;
  /** The instance's stdout and stderr, the rotated part first. */
  readLogs(id: string): string;
  /**
   * Keep what an exited instance left (its exit and last output) after it is removed, for
   * `ingot logs --previous`: a few per fleet, the oldest dropped.
   */
  keepPrevious(record: PreviousInstance): void;
  /** Everything of the instance (bundle, log); safe to call for one that has nothing. */
  remove(id: string): void;
}

/** Host folders behind the instances' named volumes: what survives a replacement. */
export interface HostVolumes {
  /**
   * The host folder of a volume, made (owned by the instance's user, 0700) if it does not
   * exist yet; an existing one is used as it is, once its owners are those of `idMap`.
   */
  ensure(
    source:
      | { readonly kind: 'fleet'; readonly fleet: string; readonly name: string }
      | { readonly kind: 'shared'; readonly source: string },
    owner: { readonly uid: number; readonly gid: number },
    /** The user namespace of the instances that mount it: only they may pass its folders. */
    idMap?: IdMap | null,
  ): Promise<string>;
}
