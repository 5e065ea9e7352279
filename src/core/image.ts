import type { Baseline, RuntimeContract } from '../domain/baseline.js';
import type { Digest } from '../domain/digest.js';
import { Annotation, MediaType } from '../domain/media-types.js';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '../domain/oci.js';
import { canonicalJson } from './canonical-json.js';

/** The empty JSON object `{}`, the config of an artifact manifest (image-spec 1.1). */
export const EMPTY_CONFIG = {
  mediaType: MediaType.empty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' as Digest,
  size: 2,
} as const satisfies Descriptor;
export const EMPTY_CONFIG_BYTES = Buffer.from('{}');

/** SOURCE_DATE_EPOCH as an RFC 3339 time, which is what config `created` holds. */
export function epochToRfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

export function parsePlatform(text: string): Platform {
  const [os = 'linux', architecture = 'amd64', variant] = text.split('/');
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export function formatPlatform(p: {
  os: string;
  architecture: string;
  variant?: string | undefined;
}): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The runtime contract as stored in the image (a label holding canonical JSON). */
export function encodeRuntimeContract(contract: RuntimeContract): string {
  return canonicalJson(contract);
}

export interface ConfigInput {
  readonly baseline: Baseline;
  readonly base: ImageConfig | null;
  readonly platform: Platform;
  readonly created: string;
  /** diff_ids of every layer, the base's first. */
  readonly diffIds: readonly Digest[];
  /** One line per layer Ingot added, for `history`. */
  readonly layerNotes: readonly string[];
}

/**
 * The image config: the base's settings with the baseline's over them, as a Dockerfile
 * would merge them — environment by name, ports and labels by key, and a new entrypoint
 * clears an inherited cmd (it was written for the old entrypoint).
 */
export function buildImageConfig(input: ConfigInput): ImageConfig {
  const { baseline, base, platform, created } = input;
  const want = baseline.config;
  const inherited = base?.config ?? {};

  const env = new Map<string, string>();
  for (const kv of inherited.Env ?? []) {
    const i = kv.indexOf('=');
    env.set(i < 0 ? kv : kv.slice(0, i), i < 0 ? '' : kv.slice(i + 1));
  }
  for (const [k, v] of want.env) env.set(k, v);

  const entrypoint = want.entrypoint ?? inherited.Entrypoint ?? undefined;
  const cmd =
    want.cmd ?? (want.entrypoint !== undefined ? undefined : (inherited.Cmd ?? undefined));
  const ports = [...new Set([...Object.keys(inherited.ExposedPorts ?? {}), ...want.ports])].sort();
  const labels: Record<string, string> = {
    ...(inherited.Labels ?? {}),
    ...want.labels,
    [Annotation.title]: baseline.name,
    [Annotation.version]: baseline.version,
    [Annotation.runtime]: encodeRuntimeContract(baseline.runtime),
  };
  const user = want.user ?? inherited.User;
  const workdir = want.workdir ?? inherited.WorkingDir;

  return {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant !== undefined && { variant: platform.variant }),
    config: {
      ...(user !== undefined && user !== '' && { User: user }),
      ...(env.size > 0 && { Env: [...env].map(([k, v]) => `${k}=${v}`) }),
      ...(entrypoint && entrypoint.length > 0 && { Entrypoint: [...entrypoint] }),
      ...(cmd && cmd.length > 0 && { Cmd: [...cmd] }),
      ...(workdir !== undefined && workdir !== '' && { WorkingDir: workdir }),
      ...(ports.length > 0 && { ExposedPorts: Object.fromEntries(ports.map((p) => [p, {}])) }),
      Labels: labels,
    },
    rootfs: { type: 'layers', diff_ids: [...input.diffIds] },
    history: [
      ...(base?.history ?? []),
      ...input.layerNotes.map((note) => ({ created, created_by: note, comment: 'ingot build' })),
    ],
  };
}

export function buildImageManifest(
  config: Descriptor,
  layers: readonly Descriptor[],
  annotations: Readonly<Record<string, string>>,
): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config,
    layers: [...layers],
    ...(Object.keys(annotations).length > 0 && { annotations: { ...annotations } }),
  };
}

/** An artifact attached to an image (image-spec 1.1 `subject`): measurement, SBOM, … */
export function buildArtifactManifest(
  artifactType: string,
  layers: readonly Descriptor[],
  subject: Descriptor,
  annotations: Readonly<Record<string, string>>,
): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType,
    config: EMPTY_CONFIG,
    layers: [...layers],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { ...annotations },
  };
}
