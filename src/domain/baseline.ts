import type { Digest } from './digest.js';
import type { RegistryReference } from './registry.js';

/**
 * `ingot.yaml`, validated and normalised (see core/baseline/parse.ts for the rules and
 * README for the user-facing reference). Paths in the image are canonical and absolute;
 * durations are milliseconds; modes are numbers.
 */
export interface Baseline {
  readonly name: string;
  readonly version: string;
  readonly from: BaseRef;
  /** "os/arch[/variant]"; when absent: the base's platform, or linux/amd64 on scratch. */
  readonly platform?: string;
  readonly layers: readonly LayerSpec[];
  readonly config: ImageSettings;
  readonly runtime: RuntimeContract;
}

export type BaseRef =
  | { readonly kind: 'scratch' }
  | {
      readonly kind: 'layout';
      /** As written, relative to the baseline's directory. */
      readonly layout: string;
      readonly tag?: string;
      readonly digest?: Digest;
    }
  | {
      /** An image in an OCI distribution registry, fetched by its pinned digest. */
      readonly kind: 'registry';
      /** `HOST[:PORT]/REPO[:TAG]`; its `digest` is always null (the pin is below). */
      readonly image: RegistryReference;
      /** Required: the manifest (or index) digest every fetched byte is checked against. */
      readonly digest: Digest;
    };

export interface LayerSpec {
  /** Relative to the baseline's directory; a file or a folder. */
  readonly source: string;
  /** Absolute image path. A trailing "/" in the spec means "into this folder". */
  readonly destination: string;
  readonly intoDirectory: boolean;
  readonly mode?: number;
  readonly dirMode?: number;
  readonly uid: number;
  readonly gid: number;
  readonly exclude: readonly string[];
  /** Copy what a symlink that leaves the source tree points at, instead of refusing it. */
  readonly followSymlinks: boolean;
  /** setuid/setgid bits found in the sources are intended and kept. */
  readonly setuid: boolean;
}

export interface ImageSettings {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  /** In the order written; merged over the base's environment by name. */
  readonly env: readonly (readonly [string, string])[];
  readonly user?: string;
  readonly workdir?: string;
  /** "8080/tcp" form. */
  readonly ports: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export type HealthProbe =
  | { readonly kind: 'http'; readonly port: number; readonly path: string }
  | { readonly kind: 'tcp'; readonly port: number };

export interface HealthCheck {
  readonly probe: HealthProbe;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startGraceMs: number;
}

/** What the artifact promises the host about how it must run; baked into the image. */
export interface RuntimeContract {
  readonly health?: HealthCheck;
  readonly tmpfs: readonly { readonly path: string; readonly sizeBytes?: number }[];
  readonly volumes: readonly { readonly name: string; readonly path: string }[];
  readonly capabilities: readonly string[];
  /** System calls taken out of the default seccomp allowlist for this image: never added. */
  readonly seccomp?: { readonly deny: readonly string[] };
  /** Run the host's static init as PID 1 before the entrypoint; absent: the entrypoint is. */
  readonly init?: true;
}
