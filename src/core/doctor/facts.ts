/**
 * What `ingot doctor` finds out about this machine, gathered by adapters/host-facts and judged
 * by `diagnose` (checks.ts). Plain data: a test can write any machine down as one.
 */
export interface HostFacts {
  /** Effective uid; undefined off POSIX. */
  readonly uid: number | undefined;
  /** `process.versions.node`. */
  readonly node: string;
  /** Each program Ingot runs, by name: where PATH finds it, or null. */
  readonly programs: Readonly<Record<string, string | null>>;
  /** Each file Ingot reads from the host, by path: whether it is there. */
  readonly files: Readonly<Record<string, boolean>>;
  /** The CNI plugin folder Ingot uses and the plugin names in it (empty when missing). */
  readonly cni: { readonly dir: string; readonly plugins: readonly string[] };
  readonly cgroups: {
    /** Controllers of the cgroup v2 hierarchy at /sys/fs/cgroup (null: not a v2 mount). */
    readonly unified: readonly string[] | null;
    /** Controllers mounted as v1 hierarchies (a hybrid host's, under /sys/fs/cgroup/<name>). */
    readonly v1: readonly string[];
  };
  /** The kernel offers seccomp filters (`Seccomp_filters:` in /proc/self/status); null: unknown. */
  readonly seccomp: boolean | null;
  /** /proc/sys/user/max_user_namespaces; null where the file is missing. */
  readonly maxUserNamespaces: number | null;
  /** Network namespaces (/proc/self/ns/net). */
  readonly netns: boolean;
  readonly home: HomeFacts;
}

export interface HomeFacts {
  readonly path: string;
  /** Null: it does not exist yet (the first command that needs it makes it, 0700). */
  readonly stat: {
    readonly isDirectory: boolean;
    readonly uid: number;
    /** Permission bits (mode & 0o7777). */
    readonly mode: number;
  } | null;
  /** The first folder above it that other users cannot pass (user namespaces need them to). */
  readonly blockingAncestor: string | null;
  /** Bytes free for this user on the file system that holds it (or would); null: unknown. */
  readonly freeBytes: number | null;
}
