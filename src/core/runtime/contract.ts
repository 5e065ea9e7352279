import { z } from 'zod';
import type { RuntimeContract } from '../../domain/baseline.js';

const imagePath = z
  .string()
  .regex(/^\/[^\0]*$/)
  .max(4096);

const contractSchema = z.object({
  health: z
    .object({
      probe: z.union([
        z.object({
          kind: z.literal('http'),
          port: z.number().int().min(1).max(65535),
          path: z.string().startsWith('/').max(2048),
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
});

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
