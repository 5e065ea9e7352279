import * as z from 'zod';
import { isDigest, type Digest } from './digest.js';

/**
 * OCI image-spec 1.1 documents. The schemas parse documents that come from other people's
 * layouts and from disk: they are attacker-controlled until the digest that names them has
 * been checked, and even then only their shape is trusted, never their sizes or counts.
 */

const digest = z
  .string()
  .refine(isDigest, 'expected sha256:<64 lowercase hex digits>') as unknown as z.ZodType<Digest>;
const annotations = z.record(z.string(), z.string()).optional();

export const platformSchema = z.object({
  architecture: z.string().max(64),
  os: z.string().max(64),
  variant: z.string().max(64).optional(),
  'os.version': z.string().max(256).optional(),
  'os.features': z.array(z.string().max(256)).max(64).optional(),
});
export type Platform = z.infer<typeof platformSchema>;

export const descriptorSchema = z.object({
  mediaType: z.string().min(1).max(255),
  digest,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  urls: z.array(z.string()).max(16).optional(),
  annotations,
  platform: platformSchema.optional(),
  artifactType: z.string().max(255).optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

export const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().max(255).optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema).max(1024),
  subject: descriptorSchema.optional(),
  annotations,
});
export type ImageManifest = z.infer<typeof manifestSchema>;

export const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema).max(100_000),
  annotations,
});
export type ImageIndex = z.infer<typeof indexSchema>;

const stringList = z.array(z.string().max(64 * 1024)).max(4096);

export const imageConfigSchema = z.object({
  created: z.string().max(64).optional(),
  author: z.string().max(1024).optional(),
  architecture: z.string().max(64),
  os: z.string().max(64),
  variant: z.string().max(64).optional(),
  config: z
    .object({
      User: z.string().max(256).optional(),
      ExposedPorts: z.record(z.string(), z.object({})).optional(),
      Env: stringList.nullable().optional(),
      Entrypoint: stringList.nullable().optional(),
      Cmd: stringList.nullable().optional(),
      Volumes: z.record(z.string(), z.object({})).nullable().optional(),
      WorkingDir: z.string().max(4096).optional(),
      Labels: z.record(z.string(), z.string()).nullable().optional(),
      StopSignal: z.string().max(32).optional(),
    })
    .loose()
    .optional(),
  rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(digest).max(1024) }),
  history: z
    .array(
      z
        .object({
          created: z.string().optional(),
          created_by: z.string().optional(),
          comment: z.string().optional(),
          empty_layer: z.boolean().optional(),
        })
        .loose(),
    )
    .max(4096)
    .optional(),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

export const ociLayoutSchema = z.object({ imageLayoutVersion: z.literal('1.0.0') });

/**
 * Bounds on documents read from layouts, ours or anybody's: an attacker decides their size
 * until their digest has been checked, and a digest is checked only after reading.
 * (The image spec recommends manifests of at most 4 MiB.)
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
