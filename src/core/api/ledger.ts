import * as z from 'zod';
import type { StoredCheckpoint } from '../ledger/index.js';

/** POST /v1/ledger/checkpoint: the latest signed checkpoint, null for an empty log. */
export const storedCheckpoint: z.ZodType<StoredCheckpoint> = z.object({
  size: z.number(),
  note: z.string(),
  time: z.number(),
});
