import * as z from 'zod';
import type { RuntimeContract } from '../../domain/baseline.js';
import { parseImagePath } from '../paths.js';
import { STANDARD_MOUNT_POINTS } from './oci-spec.js';
import { MAX_SECCOMP_DENY, SYSCALL_NAME } from './seccomp-default.js';

/**
 * A mount point: a normalised absolute path, not the root, and not in or over what the
 * runtime itself mounts (/proc, /dev, /sys): a contract must not unmask the kernel.
 */
const imagePath = z
  .string()
  .max(4096)
  .refine((p) => {
    const parsed = parseImagePath(p);
    if (!parsed.ok || parsed.path !== p || p === '/') return false;
    return ![...STANDARD_MOUNT_POINTS, '/.ingot'].some((m) => p === m || p.startsWith(`${m}/`));
  }, 'a normalised absolute path outside /proc, /dev, /sys and /.ingot');

const contractSchema = z
  .object({
    health: z
      .object({
        probe: z.union([
          z.object({
            kind: z.literal('http'),
            port: z.number().int().min(1).max(65535),
            // Printable ASCII only: it goes into an HTTP request line.
            path: z
              .string()
              .regex(/^\/[\x21-\x7e]*$/)
              .max(2048),
          }),
          z.object({ kind: z.literal('tcp'), port: z.number().int().min(1).max(65535) }),
        ]),
        intervalMs: z.number().int().min(1).max(86_400_000),
        timeoutMs: z.number().int().min(1).max(86_400_000),
        retries: z.number().int().min(0).max(1000),
        startGraceMs: z.number().int().min(0).max(86_400_000),
      })
      .optional(),
    tmpfs: z
      .array(z.object({ path: imagePath, sizeBytes: z.number().int().positive().optional() }))
      .max(64),
    volumes: z
      .array(z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/), path: imagePath }))
      .max(64),
    capabilities: z.array(z.string().regex(/^CAP_[A-Z_]{1,32}$/)).max(64),
    seccomp: z
      .object({ deny: z.array(z.string().regex(SYSCALL_NAME)).max(MAX_SECCOMP_DENY) })
      .optional(),
    init: z.literal(true).optional(),
  })
  .refine(
    (c) => {
      // Mount points may not repeat or nest: one mount would hide or escape another.
      const paths = [...c.tmpfs.map((t) => t.path), ...c.volumes.map((v) => v.path)];
      return (
        paths.every((p, i) =>
          paths.every((q, j) => i === j || (p !== q && !q.startsWith(`${p}/`))),
        ) && new Set(c.volumes.map((v) => v.name)).size === c.volumes.length
      );
    },
    { message: 'mount points repeat or nest, or volume names repeat' },
  );

/**
 * The runtime contract from an image config label (dev.ingot.runtime.v1). The config is
 * covered by the image digest, but an image may come from anyone: parsed, never cast.
 */
export function parseRuntimeContract(label: string | undefined): RuntimeContract | null {
  if (label === undefined) return { tmpfs: [], volumes: [], capabilities: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(label);
  } catch {
    return null;
  }
  const parsed = contractSchema.safeParse(doc);
  return parsed.success ? (parsed.data as RuntimeContract) : null;
}
