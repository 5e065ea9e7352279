import * as z from 'zod';

/** POST /v1/shutdown: stop the server, and its instances with `stopInstances`. */
export const shutdownRequest = z.object({ stopInstances: z.boolean().exactOptional() });

export const ok = z.object({ ok: z.literal(true) });

/** GET /healthz: the server answers; and whether its ledger's checkpoints are being signed. */
export const serverHealth = ok.extend({
  ledger: z
    .object({
      checkpoints: z.enum(['ok', 'failing']),
      lastSigned: z.number().exactOptional(),
      since: z.number().exactOptional(),
      error: z.object({ code: z.string(), message: z.string() }).exactOptional(),
      failures: z.number(),
    })
    .exactOptional(),
});
