import * as z from 'zod';
import type { StoredCheckpoint } from '../ledger/index.js';
import { timeOnWire, wireTime } from './wire-time.js';

/** A signed checkpoint as the API answers it: its time as RFC 3339. */
export type CheckpointAnswer = Omit<StoredCheckpoint, 'time'> & { readonly time: string };

export const checkpointOnWire = (c: StoredCheckpoint): CheckpointAnswer => ({
  ...c,
  time: timeOnWire(c.time),
});

/** POST /v1/ledger/checkpoint: the latest signed checkpoint, null for an empty log. */
export const storedCheckpoint: z.ZodType<CheckpointAnswer> = z.object({
  size: z.number(),
  note: z.string(),
  time: wireTime,
});
