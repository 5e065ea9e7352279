import * as z from 'zod';
import { wireTime } from './wire-time.js';

/** POST /v1/shutdown: stop the server, and its instances with `stopInstances`. */
export const shutdownRequest = z.object({ stopInstances: z.boolean().exactOptional() });

export const ok = z.object({ ok: z.literal(true) });

/** GET /healthz: the server answers; and whether its ledger's checkpoints are being signed. */
export const serverHealth = ok.extend({
  ledger: z
    .object({
      checkpoints: z.enum(['ok', 'failing']),
      lastSigned: wireTime.exactOptional(),
      since: wireTime.exactOptional(),
      error: z.object({ code: z.string(), message: z.string() }).exactOptional(),
      failures: z.number(),
    })
    .exactOptional(),
});
