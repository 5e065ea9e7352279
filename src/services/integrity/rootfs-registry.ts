import type { Digest } from '../../domain/digest.js';
import type { MeasuredEntry } from '../../domain/measurement.js';
import type { IntegrityDeps, RootfsOf } from './contracts.js';

/** One rootfs folder in use, watched for file events. */
export interface WatchedRootfs {
  readonly root: string;
  readonly artifact: Digest;
  readonly byPath: ReadonlyMap<string, MeasuredEntry>;
  readonly measurement: readonly MeasuredEntry[];
  readonly allowed: ReadonlySet<string>;
  readonly watch: { close(): void };
  /** Already found changed: no more events from it matter. */
  discarded: boolean;
  /** A full verification (or the materialiser's) found it as measured. */
  verified: boolean;
}

/** What the monitor does with a watch's events. */
export interface RootfsEvents {
  /** Paths of the rootfs changed. */
  readonly onPaths: (root: string, paths: readonly string[]) => void;
  /** Events may have been lost: only a full check can say what changed. */
  readonly onLost: (root: string) => void;
}

/**
 * The rootfs folders in use, one watch each however many instances share it, and what
 * decides how long a watch lives: the starts still on their way to an instance (claims),
 * and the folders moved aside while a start was under way.
 */
export class RootfsRegistry {
  private readonly byRoot = new Map<string, WatchedRootfs>();
  /**
   * Each artifact's measurement by path, built once, kept while an instance runs it: for
   * what is the same in every id range (which file is at a path), never for owners.
   */
  private readonly measured = new Map<Digest, ReadonlyMap<string, MeasuredEntry>>();
  /** Starts between `ready` and `track`/`forget`, per rootfs: their watch must stay. */
  private readonly claims = new Map<string, number>();
  /** Rootfs folders moved aside, and where to: a start still on its way is tainted. */
  private readonly movedTo = new Map<string, string>();

  constructor(
    private readonly watchFolder: IntegrityDeps['watch'],
    private readonly events: RootfsEvents,
  ) {}

  /** A start of `root` is under way; the folder was made again if it had been moved aside. */
  claim(root: string): void {
    this.movedTo.delete(root); // made again: a new folder at that path
    this.claims.set(root, (this.claims.get(root) ?? 0) + 1);
  }

  /** A start of `root` ended (tracked or given up); returns the starts still under way. */
  release(root: string): number {
    const claims = (this.claims.get(root) ?? 0) - 1;
    if (claims > 0) this.claims.set(root, claims);
    else this.claims.delete(root);
    return claims;
  }

  /** Where `root` was moved aside to since its start was claimed, if it was. */
  movedAside(root: string): string | undefined {
    return this.movedTo.get(root);
  }

  /** The watch of `r.rootfs`, set up now (with `verified` as its verdict) if it has none. */
  watch(r: RootfsOf, verified: boolean): WatchedRootfs {
    if (!this.measured.has(r.artifact))
      this.measured.set(r.artifact, new Map(r.measurement.map((e) => [e.path, e])));
    const known = this.byRoot.get(r.rootfs);
    if (known) return known;
    // Per folder, not per artifact: rootfs of one artifact made for two id ranges have the
    // same paths but other owners (its measurement shifted for each range).
    const byPath = new Map(r.measurement.map((e) => [e.path, e]));
    const entry: WatchedRootfs = {
      root: r.rootfs,
      artifact: r.artifact,
      byPath,
      measurement: r.measurement,
      allowed: r.allowed,
      discarded: false,
      verified,
      watch: this.watchFolder(
        r.rootfs,
        (paths) => this.events.onPaths(r.rootfs, paths),
        () => this.events.onLost(r.rootfs),
      ),
    };
    this.byRoot.set(r.rootfs, entry);
    return entry;
  }

  get(root: string): WatchedRootfs | undefined {
    return this.byRoot.get(root);
  }

  all(): WatchedRootfs[] {
    return [...this.byRoot.values()];
  }

  /** An artifact's measurement by path, while a watch or an instance keeps it. */
  measuredOf(artifact: Digest): ReadonlyMap<string, MeasuredEntry> | undefined {
    return this.measured.get(artifact);
  }

  /** No instance runs `artifact` any more. */
  forgetMeasured(artifact: Digest): void {
    this.measured.delete(artifact);
  }

  /** Stop watching `root` (nothing runs from it, or it was moved aside). */
  unwatch(root: string): void {
    this.byRoot.get(root)?.watch.close();
    this.byRoot.delete(root);
  }

  /** `from` was moved aside to `to`: its watch ends, and a start still on its way is tainted. */
  moved(from: string, to: string): void {
    this.movedTo.set(from, to);
    this.unwatch(from);
  }

  close(): void {
    for (const w of this.byRoot.values()) w.watch.close();
    this.byRoot.clear();
    this.claims.clear();
    this.movedTo.clear();
    this.measured.clear();
  }
}
